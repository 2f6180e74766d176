//! Cold start and size of Lambda binaries, measured on this machine: each binary is
//! started against an in-process fake of the Lambda Runtime API and timed from exec to
//! its first `GET /runtime/invocation/next` (init) and to its first response, beside a
//! hello-world `lambda_http` binary built with the same profile; and local-dev under load
//! (`local-load`), beside the bare argon2id verify and a hello-world HTTP handler.

pub mod fake_runtime;
pub mod in_process;
pub mod load;
pub mod measure;
pub mod memories;
pub mod probe;
pub mod server;
pub mod size;
pub mod stats;
pub mod table;
