//! The small part of Go's text/template that `inspect -f` needs, evaluated against the
//! daemon's raw JSON (as docker does when its typed lookup fails): `{{.A.B}}`, `{{.}}`,
//! `{{json .A}}`, `{{index .A 0}}`, `{{join .A " "}}`, `{{upper …}}`/`{{lower …}}`, with
//! `{{-`/`-}}` trimming. Anything else is a parse error (docker exits 64 on those).

use serde_json::Value;

use crate::rawjson::{compact, raw_path};

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    /// `.A.B`, with where it starts (line, column) and its text, for error messages.
    Path {
        parts: Vec<String>,
        line: usize,
        col: usize,
        text: String,
    },
    Str(String),
    Int(i64),
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Text(String),
    Action {
        func: Option<String>,
        args: Vec<Arg>,
    },
}

#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

const FUNCS: [&str; 5] = ["json", "index", "join", "upper", "lower"];

/// 1-based line and 0-based column of byte offset `at` in `src`, as Go's template reports.
fn line_col(src: &str, at: usize) -> (usize, usize) {
    let before = &src[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |i| i + 1);
    (line, col)
}

impl Template {
    /// Parses a template; errors read like Go's ("template: :1: unclosed action").
    pub fn parse(src: &str) -> Result<Template, String> {
        let mut nodes = Vec::new();
        let mut pos = 0;
        while let Some(found) = src[pos..].find("{{") {
            let open = pos + found;
            let mut text = &src[pos..open];
            let mut inner_start = open + 2;
            if src[inner_start..].starts_with("- ") {
                text = text.trim_end();
                inner_start += 1;
            }
            let line = line_col(src, open).0;
            let close = src[inner_start..]
                .find("}}")
                .ok_or_else(|| format!("template: :{line}: unclosed action"))?
                + inner_start;
            let mut inner_end = close;
            let mut trim_after = false;
            if src[inner_start..inner_end].ends_with(" -") {
                inner_end -= 1;
                trim_after = true;
            }
            if !text.is_empty() {
                nodes.push(Node::Text(text.to_string()));
            }
            nodes.push(parse_action(src, inner_start, inner_end)?);
            pos = close + 2;
            if trim_after {
                pos += src[pos..].len() - src[pos..].trim_start().len();
            }
        }
        if pos < src.len() {
            nodes.push(Node::Text(src[pos..].to_string()));
        }
        Ok(Template { nodes })
    }

    /// Runs the template against decoded JSON. A missing key is an error, as with docker's
    /// `missingkey=error`; `root_type` names the Go type docker would report for a
    /// missing top-level field (`*formatter.imageContext` for `images`), None for a map.
    pub fn execute_typed(&self, data: &Value, root_type: Option<&str>) -> Result<String, String> {
        self.execute_data(&Data {
            value: data,
            raw: None,
            root_type,
            omitempty_config: false,
        })
    }

    #[cfg(test)]
    pub fn execute(&self, data: &Value) -> Result<String, String> {
        self.execute_typed(data, None)
    }

    pub fn execute_data(&self, data: &Data<'_>) -> Result<String, String> {
        let mut out = String::new();
        for node in &self.nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action { func, args } => {
                    let vals = args
                        .iter()
                        .map(|a| eval(a, data.value, data.root_type))
                        .collect::<Result<Vec<_>, _>>()?;
                    if let (Some("json"), [Arg::Path { parts, .. }], Some(raw)) =
                        (func.as_deref(), args.as_slice(), data.raw)
                    {
                        if let Some(r) = raw_path(raw, parts) {
                            let omit = data.omitempty_config && parts.as_slice() == ["Config"];
                            out.push_str(&compact(r, omit));
                            continue;
                        }
                    }
                    out.push_str(&call(func.as_deref(), &vals)?);
                }
            }
        }
        Ok(out)
    }
}

/// What a template runs against.
pub struct Data<'a> {
    pub value: &'a Value,
    /// The same object as JSON text: `json` then keeps the daemon's key order (docker
    /// marshals its typed structs, whose order the daemon follows) instead of sorting.
    pub raw: Option<&'a [u8]>,
    /// The Go type docker names for a missing top-level field; None for a plain map.
    pub root_type: Option<&'a str>,
    /// `json .Config` drops empty members, as docker's all-omitempty OCI image config.
    pub omitempty_config: bool,
}

fn parse_action(src: &str, start: usize, end: usize) -> Result<Node, String> {
    let line = line_col(src, start).0;
    let tokens = tokenize(&src[start..end], line)?;
    let Some((first, _)) = tokens.first() else {
        return Err(format!("template: :{line}: missing value for command"));
    };
    let arg = |(t, off): &(String, usize)| parse_arg(t, line_col(src, start + off), line);
    if first.starts_with('.') || first.starts_with('"') {
        if tokens.len() != 1 {
            return Err(format!(
                "template: :{line}: can't give argument to non-function {first}"
            ));
        }
        return Ok(Node::Action {
            func: None,
            args: vec![arg(&tokens[0])?],
        });
    }
    if !FUNCS.contains(&first.as_str()) {
        return Err(format!("template: :{line}: function {first:?} not defined"));
    }
    let args = tokens[1..].iter().map(arg).collect::<Result<Vec<_>, _>>()?;
    Ok(Node::Action {
        func: Some(first.clone()),
        args,
    })
}

/// Splits an action into tokens with their byte offsets; string literals keep a leading
/// `"` as a marker and have their escapes resolved.
fn tokenize(s: &str, line: usize) -> Result<Vec<(String, usize)>, String> {
    let unterminated = || format!("template: :{line}: unterminated quoted string");
    let mut tokens = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            let mut tok = String::from('"');
            chars.next();
            loop {
                match chars.next().map(|(_, c)| c) {
                    Some('\\') => match chars.next().map(|(_, c)| c) {
                        Some('n') => tok.push('\n'),
                        Some('t') => tok.push('\t'),
                        Some(x) => tok.push(x),
                        None => return Err(unterminated()),
                    },
                    Some('"') => break,
                    Some(x) => tok.push(x),
                    None => return Err(unterminated()),
                }
            }
            tokens.push((tok, start));
        } else {
            let mut tok = String::new();
            while let Some(&(_, x)) = chars.peek() {
                if x.is_whitespace() {
                    break;
                }
                tok.push(x);
                chars.next();
            }
            tokens.push((tok, start));
        }
    }
    Ok(tokens)
}

fn parse_arg(t: &str, (line, col): (usize, usize), action_line: usize) -> Result<Arg, String> {
    if let Some(s) = t.strip_prefix('"') {
        return Ok(Arg::Str(s.to_string()));
    }
    if t == "." {
        return Ok(Arg::Path {
            parts: Vec::new(),
            line,
            col,
            text: t.to_string(),
        });
    }
    if let Some(p) = t.strip_prefix('.') {
        let parts: Vec<String> = p.split('.').map(str::to_string).collect();
        if parts.iter().any(String::is_empty) {
            return Err(format!("template: :{action_line}: bad field {t:?}"));
        }
        return Ok(Arg::Path {
            parts,
            line,
            col,
            text: t.to_string(),
        });
    }
    t.parse::<i64>()
        .map(Arg::Int)
        .map_err(|_| format!("template: :{action_line}: unsupported argument {t:?}"))
}

fn eval(arg: &Arg, data: &Value, root_type: Option<&str>) -> Result<Value, String> {
    match arg {
        Arg::Str(s) => Ok(Value::String(s.clone())),
        Arg::Int(i) => Ok(Value::from(*i)),
        Arg::Path {
            parts,
            line,
            col,
            text,
        } => {
            let mut v = data;
            // Column of the failing component, as Go reports it.
            let mut at = *col;
            for (i, p) in parts.iter().enumerate() {
                let fail = |why: String| {
                    format!("template: :{line}:{at}: executing \"\" at <{text}>: {why}")
                };
                v = match v {
                    Value::Object(m) => match m.get(p) {
                        Some(next) => next,
                        None => {
                            return Err(fail(match root_type {
                                Some(ty) if i == 0 => {
                                    format!("can't evaluate field {p} in type {ty}")
                                }
                                _ => format!("map has no entry for key {p:?}"),
                            }))
                        }
                    },
                    Value::Null => {
                        return Err(fail(format!("nil pointer evaluating interface {{}}.{p}")))
                    }
                    other => {
                        return Err(fail(format!(
                            "can't evaluate field {p} in type {}",
                            go_type(other)
                        )))
                    }
                };
                at += p.len() + 1;
            }
            Ok(v.clone())
        }
    }
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "string",
        Value::Number(_) => "float64",
        Value::Bool(_) => "bool",
        Value::Array(_) => "[]interface {}",
        _ => "interface {}",
    }
}

fn call(func: Option<&str>, vals: &[Value]) -> Result<String, String> {
    let one = || {
        vals.first()
            .ok_or_else(|| format!("template: wrong number of args for {}", func.unwrap_or("")))
    };
    match func {
        None => Ok(go_print(one()?)),
        Some("json") => Ok(go_json(one()?)),
        Some("upper") => Ok(go_print(one()?).to_uppercase()),
        Some("lower") => Ok(go_print(one()?).to_lowercase()),
        Some("join") => match vals {
            [Value::Array(items), Value::String(sep)] => {
                Ok(items.iter().map(go_print).collect::<Vec<_>>().join(sep))
            }
            [Value::Null, _] => Ok(String::new()),
            _ => Err("template: join expects a list and a separator".into()),
        },
        Some("index") => {
            let mut v = one()?.clone();
            for key in &vals[1..] {
                v = match (&v, key) {
                    (Value::Array(a), Value::Number(n)) => {
                        let i = n.as_u64().and_then(|i| usize::try_from(i).ok());
                        match i.and_then(|i| a.get(i)) {
                            Some(x) => x.clone(),
                            None => {
                                return Err(
                                    "template: error calling index: index out of range".into()
                                )
                            }
                        }
                    }
                    (Value::Object(m), Value::String(k)) => {
                        m.get(k).cloned().unwrap_or(Value::Null)
                    }
                    _ => return Err("template: error calling index: cannot index".into()),
                };
            }
            Ok(go_print(&v))
        }
        Some(f) => Err(format!("template: function {f:?} not defined")),
    }
}

/// How Go's template prints a decoded JSON value (`%v` of interface{}); integers stay
/// integers as docker's typed structs print them.
pub fn go_print(v: &Value) -> String {
    match v {
        Value::Null => "<no value>".into(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(go_print_inner).collect();
            format!("[{}]", items.join(" "))
        }
        Value::Object(m) => {
            // serde_json's Map is ordered by key, like Go's map printing.
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_print_inner(v)))
                .collect();
            format!("map[{}]", items.join(" "))
        }
    }
}

fn go_print_inner(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        other => go_print(other),
    }
}

/// Go's json.Marshal of a decoded value: compact, HTML characters escaped.
pub fn go_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(t: &str, v: &Value) -> String {
        Template::parse(t).expect("parse").execute(v).expect("exec")
    }

    #[test]
    fn fields_and_functions() {
        let v = json!({"Id": "sha256:ab", "Size": 4261544, "RepoTags": ["busybox:latest"],
            "Config": {"Cmd": ["sh", "-c"], "Env": null, "Labels": {"b": "2", "a": "1"}, "X": "<&>"}});
        assert_eq!(run("{{.Id}}", &v), "sha256:ab");
        assert_eq!(
            run("id={{ .Id }} size={{.Size}}\n", &v),
            "id=sha256:ab size=4261544\n"
        );
        assert_eq!(run("{{.Config.Cmd}}", &v), "[sh -c]");
        assert_eq!(run("{{.Config.Env}}", &v), "<no value>");
        assert_eq!(run("{{.Config.Labels}}", &v), "map[a:1 b:2]");
        assert_eq!(
            run("{{json .Config}}", &v),
            r#"{"Cmd":["sh","-c"],"Env":null,"Labels":{"a":"1","b":"2"},"X":"\u003c\u0026\u003e"}"#
        );
        assert_eq!(run("{{index .RepoTags 0}}", &v), "busybox:latest");
        assert_eq!(run("{{index .Config.Labels \"a\"}}", &v), "1");
        assert_eq!(run("{{join .Config.Cmd \",\"}}", &v), "sh,-c");
        assert_eq!(run("a {{- .Id -}} b", &v), "asha256:abb");
        assert_eq!(run("{{upper .Id}}", &v), "SHA256:AB");
    }

    #[test]
    fn missing_keys_like_go() {
        let v = json!({"Config": {"Cmd": ["sh"], "Env": null}});
        let t = |src: &str| Template::parse(src).expect("parse");
        assert_eq!(
            t("{{.Nope}}").execute(&v).expect_err("missing"),
            "template: :1:2: executing \"\" at <.Nope>: map has no entry for key \"Nope\""
        );
        assert_eq!(
            t("x {{.Config.Nope}}").execute(&v).expect_err("missing"),
            "template: :1:11: executing \"\" at <.Config.Nope>: map has no entry for key \"Nope\""
        );
        assert_eq!(
            t("{{.Nope}}").execute_typed(&v, Some("*formatter.imageContext")).expect_err("missing"),
            "template: :1:2: executing \"\" at <.Nope>: can't evaluate field Nope in type *formatter.imageContext"
        );
        assert!(t("{{.Config.Env.X}}").execute(&v).is_err());
        assert_eq!(
            Template::parse("a\n{{.X").expect_err("unclosed"),
            "template: :2: unclosed action"
        );
        assert_eq!(
            Template::parse("{{foo .X}}").expect_err("func"),
            "template: :1: function \"foo\" not defined"
        );
    }

    #[test]
    fn parse_errors() {
        assert!(Template::parse("{{.Id").is_err());
        assert!(Template::parse("{{range .RepoTags}}{{.}}{{end}}").is_err());
        assert!(Template::parse("{{.Id .Size}}").is_err());
        assert!(Template::parse("{{}}").is_err());
        let t = Template::parse("{{index .RepoTags 5}}").expect("parse");
        assert!(t.execute(&json!({"RepoTags": []})).is_err());
    }
}
