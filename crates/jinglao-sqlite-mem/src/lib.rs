//! The bundled SQLite's memory allocator.
//!
//! SQLite allocates through the C library's `malloc` unless told otherwise, and keeps global
//! memory statistics behind a mutex on every allocation. Profiling the load of a million
//! people (BENCHMARKS.md §5) showed 40 % of the SQLite thread's time inside glibc's allocator:
//! every bound text value of a multi-row INSERT is copied into a fresh allocation, and each
//! page the cache grows by is a large request that makes glibc consolidate all those small
//! freed chunks first. [`install`] routes SQLite's allocations to mimalloc (the allocator the
//! `jinglao` binary already uses for Rust) and turns the statistics off, as the SQLite
//! documentation recommends for speed.
//!
//! This is the only crate of the workspace that contains `unsafe`: `sqlite3_config` is a C
//! function that must be called before SQLite initialises. Nothing here changes what SQLite
//! stores; only where its working memory comes from.

use std::ffi::{c_int, c_void};
use std::sync::OnceLock;

use libmimalloc_sys as mi;
use libsqlite3_sys as ffi;

/// What [`install`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Installed {
    /// SQLite now allocates through mimalloc, without memory statistics.
    Mimalloc,
    /// SQLite had already been initialised in this process (by code that did not go through
    /// [`install`] first), so it keeps its default allocator. Correct, only slower.
    TooLate,
}

/// Configures SQLite's allocator once per process, before the first connection opens. Later
/// calls return the first call's outcome. Every path that opens a SQLite connection calls
/// this first (`jinglao_db::Db::connect`).
pub fn install() -> Installed {
    static OUTCOME: OnceLock<Installed> = OnceLock::new();
    *OUTCOME.get_or_init(configure)
}

fn configure() -> Installed {
    let methods = ffi::sqlite3_mem_methods {
        xMalloc: Some(x_malloc),
        xFree: Some(x_free),
        xRealloc: Some(x_realloc),
        xSize: Some(x_size),
        xRoundup: Some(x_roundup),
        xInit: Some(x_init),
        xShutdown: Some(x_shutdown),
        pAppData: std::ptr::null_mut(),
    };
    // SAFETY: `sqlite3_config` is called from inside a `OnceLock` initialiser, so no other
    // call of ours runs at the same time, and before any connection of ours exists. SQLite
    // copies the methods structure before returning (documented for SQLITE_CONFIG_MALLOC), so
    // pointing at a local is sound. If SQLite is already initialised it changes nothing and
    // answers SQLITE_MISUSE, which is reported as `TooLate`.
    let rc = unsafe {
        ffi::sqlite3_config(
            ffi::SQLITE_CONFIG_MALLOC,
            &methods as *const ffi::sqlite3_mem_methods,
        )
    };
    if rc != ffi::SQLITE_OK {
        return Installed::TooLate;
    }
    // SAFETY: as above; SQLITE_CONFIG_MEMSTATUS takes one int argument.
    unsafe { ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int) };
    Installed::Mimalloc
}

/// SQLite never asks for zero or negative sizes (its wrappers handle those), but a C `int`
/// is converted with care all the same.
fn size(n: c_int) -> Option<usize> {
    usize::try_from(n).ok().filter(|&n| n > 0)
}

unsafe extern "C" fn x_malloc(n: c_int) -> *mut c_void {
    match size(n) {
        // SAFETY: mi_malloc accepts any size and returns null on failure, as SQLite expects.
        Some(n) => unsafe { mi::mi_malloc(n) },
        None => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn x_free(p: *mut c_void) {
    // SAFETY: SQLite only frees what its xMalloc/xRealloc (these functions) returned, and
    // mi_free accepts null.
    unsafe { mi::mi_free(p) }
}

unsafe extern "C" fn x_realloc(p: *mut c_void, n: c_int) -> *mut c_void {
    match size(n) {
        // SAFETY: `p` came from x_malloc/x_realloc (SQLite's contract); on failure mi_realloc
        // returns null and leaves `p` valid, which is what SQLite expects of xRealloc.
        Some(n) => unsafe { mi::mi_realloc(p, n) },
        None => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn x_size(p: *mut c_void) -> c_int {
    if p.is_null() {
        return 0;
    }
    // SAFETY: `p` is a live allocation from mimalloc (SQLite only asks about its own).
    let n = unsafe { mi::mi_usable_size(p) };
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

unsafe extern "C" fn x_roundup(n: c_int) -> c_int {
    // SQLite's own allocator rounds to 8; mimalloc's small size classes are multiples of 8.
    n.saturating_add(7) & !7
}

unsafe extern "C" fn x_init(_: *mut c_void) -> c_int {
    ffi::SQLITE_OK
}

unsafe extern "C" fn x_shutdown(_: *mut c_void) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_install_sqlite_allocates_from_mimalloc_and_still_works() {
        assert_eq!(install(), Installed::Mimalloc);
        assert_eq!(
            install(),
            Installed::Mimalloc,
            "a second call changes nothing"
        );
        // SAFETY: a plain allocation through SQLite's public API, checked and freed here.
        let p = unsafe { ffi::sqlite3_malloc(100) };
        assert!(!p.is_null());
        // SAFETY: `p` is live; the question only reads mimalloc's bookkeeping.
        let from_mimalloc = unsafe { mi::mi_is_in_heap_region(p) };
        assert!(from_mimalloc, "SQLite's memory comes from mimalloc");
        // SAFETY: `p` came from sqlite3_malloc and is freed once.
        unsafe { ffi::sqlite3_free(p) };

        let mut db = std::ptr::null_mut();
        let name = c":memory:";
        // SAFETY: opening an in-memory database with a valid C string and out-pointer.
        let rc = unsafe { ffi::sqlite3_open(name.as_ptr(), &mut db) };
        assert_eq!(rc, ffi::SQLITE_OK);
        let sql =
            c"CREATE TABLE t (x TEXT); INSERT INTO t VALUES ('老年人'), (hex(randomblob(5000)));";
        // SAFETY: `db` is open; no callback, no error out-pointer.
        let rc = unsafe {
            ffi::sqlite3_exec(
                db,
                sql.as_ptr(),
                None,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(rc, ffi::SQLITE_OK);
        // SAFETY: `db` is open and closed once.
        assert_eq!(unsafe { ffi::sqlite3_close(db) }, ffi::SQLITE_OK);
    }

    #[test]
    fn sizes_that_are_not_positive_are_refused() {
        assert_eq!(size(0), None);
        assert_eq!(size(-5), None);
        assert_eq!(size(8), Some(8));
        // SAFETY: pure arithmetic.
        assert_eq!(unsafe { x_roundup(13) }, 16);
    }
}
