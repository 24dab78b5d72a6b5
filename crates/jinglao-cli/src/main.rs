//! `jinglao`: the one binary of the platform. It only parses arguments and calls the library
//! crates; see `jinglao --help`.

/// mimalloc instead of glibc's allocator: bulk imports and page rendering allocate many small
/// strings, and glibc's malloc/free took a quarter of an import's time (perf, BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod commands;
mod demo;
mod registry;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// 敬老 — the elderly-care service platform of a civil-affairs bureau.
#[derive(Debug, Parser)]
#[command(name = "jinglao", version, about, long_about = None)]
struct Cli {
    /// Directory holding `default.toml` (then `JINGLAO_CONFIG` and `JINGLAO_*` variables apply).
    #[arg(long, global = true, default_value = "config")]
    config_dir: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server with the configured database.
    Serve {
        /// Apply pending migrations first instead of refusing to start.
        #[arg(long)]
        migrate: bool,
    },
    /// Create (or reuse) a demo database with the region tree and one account per role, and
    /// start the server on it.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Database URL (default: SQLite file jinglao-demo.db in the working directory).
        #[arg(long, default_value = "sqlite://jinglao-demo.db")]
        db: String,
        /// Synthetic older people to generate over Xiangtan when the registry is empty
        /// (0 for none; see docs/DEMO-DATA.md).
        #[arg(long, default_value_t = 20_000)]
        elders: usize,
        /// Seed of the synthetic population.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Generate synthetic data files.
    Gen {
        #[command(subcommand)]
        command: registry::GenCommand,
    },
    /// The older-people registry.
    Elders {
        #[command(subcommand)]
        command: registry::EldersCommand,
    },
    /// Apply pending database migrations.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API integration tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the region tree.
    Regions {
        #[command(subcommand)]
        command: RegionsCommand,
    },
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Back up the database (SQLite: an online, consistent copy; PostgreSQL: prints the
    /// pg_dump command to use).
    Backup {
        /// Destination file (must not exist).
        file: PathBuf,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Measure the platform (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        command: jinglao_bench::BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from standard input.
    Add {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Role: admin, city_staff, county_staff, township_staff, village_staff, assessor,
        /// provider_admin, caregiver, finance, inspector, auditor.
        #[arg(long)]
        role: String,
        /// Region code (the root of the account's scope).
        #[arg(long)]
        region: String,
        /// Provider id (for provider_admin and caregiver).
        #[arg(long)]
        provider: Option<String>,
        /// Name shown on screen (defaults to the login name).
        #[arg(long)]
        display_name: Option<String>,
        /// Read the password from standard input (required: passwords never go on the
        /// command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a new password (read from standard input); ends the account's sessions and tokens.
    Passwd {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a long-lived integration token (printed once).
    Create {
        /// Account the token acts as.
        #[arg(long)]
        user: String,
        /// Lifetime in days (1–730).
        #[arg(long)]
        days: i64,
        /// A label, e.g. the system that will use it.
        #[arg(long, default_value = "integration")]
        name: String,
    },
    /// List an account's tokens.
    List {
        /// Account.
        #[arg(long)]
        user: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `token list`).
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum RegionsCommand {
    /// Import a CSV file `code,name,level,parent_code` (all rows checked first; nothing is
    /// written unless every row is valid; importing the same file again changes nothing).
    Import {
        /// The file.
        file: PathBuf,
        /// Where the codes come from (recorded on every row).
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Verify the hash chain and compare it with the anchors in `audit.anchor_file`; exits
    /// non-zero and names the first broken entry or anchor if any.
    Verify,
    /// Append an anchor of the chain's head to `audit.anchor_file` now (the server does so
    /// every few minutes; use this before and after maintenance).
    Anchor,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误：无法启动运行时：{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
