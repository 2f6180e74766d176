//! local-dev's token signing secret: generated on first start and kept in the data
//! directory, so tokens survive restarts, readable by its owner only (anyone who can
//! read it can forge tokens). `MEM0_JWT_SECRET` overrides it.

use std::io::Write;
use std::path::Path;

use secrecy::SecretString;

const SECRET_BYTES: usize = 48;

pub fn load_or_create(path: &Path) -> std::io::Result<SecretString> {
    if let Ok(secret) = std::env::var("MEM0_JWT_SECRET") {
        return Ok(SecretString::from(secret));
    }
    match std::fs::read_to_string(path) {
        Ok(secret) => {
            crate::data_dir::make_file_private(path)?;
            return Ok(SecretString::from(secret.trim().to_owned()));
        }
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => return Err(error),
        Err(_) => {}
    }
    let bytes: [u8; SECRET_BYTES] = rand::random();
    let secret: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(secret.as_bytes())?;
    Ok(SecretString::from(secret))
}
