//! Mail through Amazon SES (API v2 `SendEmail`), for the deployed functions: the
//! sender and the optional configuration set come from the template, the region from
//! the AWS configuration.

use api::mail::{Mail, MailError, Mailer};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

/// Where SES mail comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesSettings {
    /// `MEM0_MAIL_FROM`: an address (or one of a domain) verified in SES.
    pub from: String,
    /// `MEM0_SES_CONFIGURATION_SET`, if any.
    pub configuration_set: Option<String>,
}

impl SesSettings {
    /// From `MEM0_MAIL_FROM` and `MEM0_SES_CONFIGURATION_SET` through `lookup`; `None`
    /// when no sender is set.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let var = |name| crate::env::nonempty(&lookup, name);
        Some(Self {
            from: var(MAIL_FROM)?,
            configuration_set: var(SES_CONFIGURATION_SET),
        })
    }
}

pub use api::config::vars::{MAIL_FROM, SES_CONFIGURATION_SET};

pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    settings: SesSettings,
}

impl SesMailer {
    pub fn new(shared: &SdkConfig, settings: SesSettings) -> Self {
        Self {
            client: aws_sdk_sesv2::Client::new(shared),
            settings,
        }
    }
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let text = |value: String| {
            Content::builder()
                .data(value)
                .charset("UTF-8")
                .build()
                .map_err(|error| MailError(error.to_string()))
        };
        let message = Message::builder()
            .subject(text(mail.subject)?)
            .body(Body::builder().text(text(mail.text)?).build())
            .build();
        self.client
            .send_email()
            .from_email_address(&self.settings.from)
            .destination(
                Destination::builder()
                    .to_addresses(mail.to.as_str())
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .set_configuration_set_name(self.settings.configuration_set.clone())
            .send()
            .await
            .map_err(|error| {
                MailError(aws_sdk_sesv2::error::DisplayErrorContext(error).to_string())
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Option<SesSettings> {
        SesSettings::from_vars(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn no_sender_means_no_ses_and_the_configuration_set_is_optional() {
        assert_eq!(settings(&[]), None);
        assert_eq!(settings(&[(MAIL_FROM, "  ")]), None);
        assert_eq!(
            settings(&[
                (MAIL_FROM, " mem0@example.com "),
                (SES_CONFIGURATION_SET, "")
            ]),
            Some(SesSettings {
                from: "mem0@example.com".into(),
                configuration_set: None,
            })
        );
        assert_eq!(
            settings(&[
                (MAIL_FROM, "mem0@example.com"),
                (SES_CONFIGURATION_SET, "mem0")
            ]),
            Some(SesSettings {
                from: "mem0@example.com".into(),
                configuration_set: Some("mem0".into()),
            })
        );
    }
}
