//! Points test binaries at the interpreter pyo3 was configured for.
//!
//! Without an rpath, `cargo test` binaries that link libpython pick up
//! Debian's system libpython3.11 instead of pyenv's, and then crash or
//! import the wrong standard library.

fn main() {
    let config = pyo3_build_config::get();
    if let Some(lib_dir) = config.lib_dir() {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib_dir}");
    }
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
}
