fn main() {
    std::process::exit(fleetgen::cli::run(std::env::args_os()));
}
