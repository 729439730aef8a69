//! After set-up the shim only runs its event loop. The code that parsed the spec, cloned the
//! container and resolved users stays mapped (clean text pages, counted in RSS); dropping the
//! process's mappings of its executable text lets the kernel fault back in only what the loop
//! uses. Only `r-xp` file mappings are touched: text is never written, so nothing is lost (a
//! later access faults the page back in from the page cache).

pub fn drop_text_pages() {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    for line in maps.lines() {
        let mut f = line.split_whitespace();
        let (Some(range), Some(perms), Some(_off), Some(_dev), Some(_inode), Some(path)) =
            (f.next(), f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        if perms != "r-xp" || !path.starts_with('/') {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        // SAFETY: MADV_DONTNEED on a private, read-only, executable file mapping only discards
        // this process's page-table entries for clean pages; the contents come back unchanged
        // from the file on the next access, so no memory the program relies on is altered.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}
