use std::process::ExitCode;

fn main() -> ExitCode {
    #[cfg(target_os = "linux")]
    fix_malloc_mmap_threshold();
    switchboard::cli::main()
}

/// glibc raises its mmap threshold once a large block is freed, and from then on keeps blocks of
/// that size (each password hash's 19 MiB argon2 buffer) in its heap after they are freed: a
/// server that has signed someone in would idle at ~44 MB instead of ~24 MB (bench/RESULTS.md).
/// A fixed threshold (glibc's default, 128 KiB) gives large blocks back to the system when freed.
/// glibc reads it from the environment only, at start-up, so the process starts itself again
/// once with `MALLOC_MMAP_THRESHOLD_` set, unless it is already set (any value, to opt out).
#[cfg(target_os = "linux")]
fn fix_malloc_mmap_threshold() {
    use std::os::unix::process::CommandExt;
    const VAR: &str = "MALLOC_MMAP_THRESHOLD_";
    if std::env::var_os(VAR).is_some() {
        return;
    }
    // Only the long-lived server signs people in; one-off commands exit before it matters.
    let mut args = std::env::args_os();
    let argv0 = args.next();
    let serving = match std::env::args_os().nth(1) {
        None => true,
        Some(first) => first == "serve" || first.to_string_lossy().starts_with('-'),
    };
    if !serving {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut again = std::process::Command::new(exe);
    if let Some(argv0) = argv0 {
        // The name it was started as (what `ps` and supervisors show), not the resolved path.
        again.arg0(argv0);
    }
    // `exec` returns only if it failed; the process then carries on as it is.
    let error = again.args(args).env(VAR, "131072").exec();
    eprintln!(
        "note: could not restart with {VAR}=131072 ({error}); memory freed after sign-ins may stay with the process"
    );
}
