//! A binary's deployed size: zipped as Lambda takes a custom runtime, one executable
//! file named `bootstrap`, deflated.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The zip archive Lambda would be given for `binary`.
pub fn bootstrap_zip(binary: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    let mut archive = ZipWriter::new(Cursor::new(Vec::new()));
    archive.start_file(
        "bootstrap",
        SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(0o755),
    )?;
    archive.write_all(binary)?;
    Ok(archive.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use zip::ZipArchive;

    use super::*;

    #[test]
    fn the_zip_holds_one_deflated_executable_bootstrap_with_the_same_bytes() {
        let binary: Vec<u8> = (0..200_000_u32).map(|i| (i % 7) as u8).collect();
        let zipped = bootstrap_zip(&binary).unwrap();
        assert!(zipped.len() < binary.len() / 10, "{} bytes", zipped.len());
        let mut archive = ZipArchive::new(Cursor::new(zipped)).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_index(0).unwrap();
        assert_eq!(entry.name().unwrap(), "bootstrap");
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        assert_eq!(entry.unix_mode().map(|mode| mode & 0o777), Some(0o755));
        let mut unpacked = Vec::new();
        entry.read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, binary);
    }
}
