// Rendering and validating a fleet allocates and frees millions of small strings and maps
// from every thread; mimalloc does that markedly faster than the system allocator and keeps
// less memory stranded in per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    keep_freed_memory();
    std::process::exit(fleetgen::cli::run(std::env::args_os()));
}

// mimalloc's option functions; the crates export no name for the purge delay.
unsafe extern "C" {
    fn mi_option_get(option: std::ffi::c_int) -> std::ffi::c_long;
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc 3's list of options.
const PURGE_DELAY: std::ffi::c_int = 15;
/// Its default there, in milliseconds.
const PURGE_DELAY_DEFAULT: std::ffi::c_long = 1000;

/// Memory a run frees stays with the process until it ends, instead of going back to the
/// system a second after: a run is short, and what it frees it soon asks for again. Each page
/// handed back came back as a fresh huge page that the kernel zeroed whole; at a thousand
/// clusters that was a quarter of the CPU time of `check`. Left as it is when the option is
/// not at its default: set by `MIMALLOC_PURGE_DELAY`, or another option in that place.
fn keep_freed_memory() {
    // SAFETY: mimalloc's own functions on one of its options, called before any other thread
    // exists; an option's value is a plain integer.
    unsafe {
        if mi_option_get(PURGE_DELAY) == PURGE_DELAY_DEFAULT {
            mi_option_set(PURGE_DELAY, -1);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The place and default `keep_freed_memory` relies on hold in the mimalloc this builds
    /// with; were the option moved, the value there would most likely be another.
    #[test]
    fn the_purge_delay_is_where_it_is_looked_for() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            // SAFETY: reading an option.
            let value = unsafe { super::mi_option_get(super::PURGE_DELAY) };
            assert_eq!(value, super::PURGE_DELAY_DEFAULT);
        }
    }
}
