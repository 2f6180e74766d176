//! `local-dev keys list|rotate|prune`: manages a signing key set, either the data
//! directory's or, with `--secret-id`, the deployed one in Secrets Manager. docs/keys.md
//! has the procedure; the rules (what signs, when a key retires) are `claims::keyset`'s.

use std::path::Path;
use std::time::Duration;

use claims::{KeySet, Rotation};
use clap::Subcommand;
use secrecy::ExposeSecret;

use crate::secret;

#[derive(Debug, Clone, Subcommand)]
pub enum Action {
    /// Lists the keys: kid, state, created, signs from, retire after. Never a secret.
    List,
    /// Adds a new random key that signs from now (local-dev; deployed: after
    /// --activate-in-seconds); the others verify until one token lifetime and the leeway
    /// after that, then they are retired.
    Rotate {
        /// How long the new key only verifies before it signs. Default: 0 for the data
        /// directory (restart local-dev to use the new set), 600 with --secret-id (the
        /// time to recycle every function so that all of them know the new key).
        #[arg(long)]
        activate_in_seconds: Option<u64>,
    },
    /// Retires a key at once (a leaked one): its tokens are refused from the next start
    /// (deployed: from each function's next cold start). Rotate first.
    Retire { kid: String },
    /// Removes the retired keys from the set.
    Prune,
}

/// Seconds a deployed rotation leaves for every function to be recycled onto the new set.
const DEPLOYED_ACTIVATION: Duration = Duration::from_secs(600);

pub async fn run(
    action: &Action,
    data_dir: &Path,
    secret_id: Option<&str>,
    lifetime: Duration,
) -> Result<(), secret::Error> {
    let now = claims::unix_now();
    let store = match secret_id {
        Some(id) => Target::secrets_manager(id).await,
        None => Target::DataDir(data_dir),
    };
    let mut set = store.read().await?;
    let changed = match action {
        Action::List => false,
        Action::Rotate {
            activate_in_seconds,
        } => {
            let activate_in = activate_in_seconds.map_or(
                match store {
                    Target::DataDir(_) => Duration::ZERO,
                    Target::SecretsManager { .. } => DEPLOYED_ACTIVATION,
                },
                Duration::from_secs,
            );
            let kid = set.rotate(
                now,
                Rotation {
                    lifetime,
                    activate_in,
                },
            );
            store.write(&set).await?;
            println!(
                "added key {kid}, signing from {}",
                claims::keyset::rfc3339(now.saturating_add(activate_in.as_secs()))
            );
            true
        }
        Action::Retire { kid } => {
            set.retire(kid, now)?;
            store.write(&set).await?;
            println!("retired {kid}");
            true
        }
        Action::Prune => {
            let pruned = set.prune(now);
            if pruned.is_empty() {
                println!("no retired keys");
                false
            } else {
                store.write(&set).await?;
                println!("removed {}", pruned.join(", "));
                true
            }
        }
    };
    print_table(&set, now);
    if let Target::DataDir(_) = store {
        if std::env::var_os(api::config::vars::JWT_SECRET).is_some() {
            eprintln!(
                "note: MEM0_JWT_SECRET is set, so local-dev signs with it, not with this set"
            );
        }
        if changed {
            eprintln!("restart local-dev to use the new set");
        }
    }
    Ok(())
}

fn print_table(set: &KeySet, now: u64) {
    println!(
        "{:<28} {:<9} {:<20} {:<20} retire after",
        "kid", "state", "created", "signs from"
    );
    for key in set.keys() {
        let state = set.state(key, now);
        println!(
            "{:<28} {:<9} {:<20} {:<20} {}",
            key.kid(),
            state,
            claims::keyset::rfc3339(key.created_at()),
            claims::keyset::rfc3339(key.signs_from()),
            key.retire_after()
                .map_or_else(|| "-".to_owned(), claims::keyset::rfc3339),
        );
    }
}

enum Target<'a> {
    DataDir(&'a Path),
    SecretsManager {
        client: aws_sdk_secretsmanager::Client,
        id: String,
    },
}

impl Target<'_> {
    async fn secrets_manager(id: &str) -> Self {
        let aws = store::dynamo::load_aws_config().await;
        Self::SecretsManager {
            client: aws_sdk_secretsmanager::Client::new(&aws),
            id: id.to_owned(),
        }
    }

    /// The set as stored. A data directory without one gets one first, as local-dev
    /// would make it (migrating `jwt-secret`); a bare secret in Secrets Manager is read
    /// as its one key `legacy`, written back as a key set on the first rotation.
    async fn read(&self) -> Result<KeySet, secret::Error> {
        match self {
            Self::DataDir(dir) => {
                crate::data_dir::create_private(dir)?;
                secret::from_data_dir(dir)
            }
            Self::SecretsManager { client, id } => {
                let value = client
                    .get_secret_value()
                    .secret_id(id)
                    .send()
                    .await
                    .map_err(|error| {
                        format!(
                            "cannot read the secret {id}: {}",
                            aws_sdk_secretsmanager::error::DisplayErrorContext(error)
                        )
                    })?;
                let text = value
                    .secret_string()
                    .ok_or_else(|| format!("the secret {id} has no string value"))?;
                Ok(KeySet::parse(text).map_err(|error| format!("the secret {id}: {error}"))?)
            }
        }
    }

    /// Stores `set`: the data directory's file replaced, or a new version of the secret
    /// (the previous one stays as `AWSPREVIOUS`, to roll back to).
    async fn write(&self, set: &KeySet) -> Result<(), secret::Error> {
        match self {
            Self::DataDir(dir) => secret::write(dir, set),
            Self::SecretsManager { client, id } => {
                client
                    .put_secret_value()
                    .secret_id(id.as_str())
                    .secret_string(set.to_json().expose_secret())
                    .send()
                    .await
                    .map_err(|error| {
                        format!(
                            "cannot write the secret {id}: {}",
                            aws_sdk_secretsmanager::error::DisplayErrorContext(error)
                        )
                    })?;
                Ok(())
            }
        }
    }
}
