//! `cargo run -p gotools -- MODULE PACKAGE…`: builds (or finds cached) Go commands of the pinned module
//! `tests/go/MODULE` and prints the folder holding them. `.ci/run` uses it to build ahead of the tests
//! and to time that step.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((module, packages)) = args.split_first().filter(|(_, p)| !p.is_empty()) else {
        eprintln!("usage: gotools MODULE PACKAGE… (a folder under tests/go and the import paths to build)");
        std::process::exit(2);
    };
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    match gotools::build(module, &packages) {
        Ok(dir) => println!("{}", dir.display()),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
