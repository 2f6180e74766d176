//! Keeps the access token fresh: traded for a new one once 80% of its lifetime has
//! passed, and once more after a 401 (then the request is retried once). One refresh at
//! a time: callers that hold the same stale token wait for it and share its result, so
//! a burst of concurrent tool calls costs one refresh, and no refresh token is presented
//! twice (a spent refresh token ends the whole session).

use std::future::Future;
use std::path::PathBuf;

use tokio::sync::Mutex;

use crate::api::{Api, ApiError};
use crate::api_url::ApiUrl;
use crate::credentials::{self, Chain, Saved};
use crate::session::{Caller, NoSession, Session};
use crate::token;

/// A new access token and the refresh token that replaces the one presented.
#[derive(Debug, Clone)]
pub struct Fresh {
    pub access: String,
    pub refresh: String,
}

/// Trades a refresh token for fresh tokens; the API in the binary, a counter in tests.
pub trait Rotate: Send + Sync {
    fn rotate(&self, refresh_token: &str) -> impl Future<Output = Result<Fresh, ApiError>> + Send;
}

impl Rotate for Api {
    async fn rotate(&self, refresh_token: &str) -> Result<Fresh, ApiError> {
        let reply = self.refresh(refresh_token).await?;
        Ok(Fresh {
            access: reply.data.jwt_token,
            refresh: reply.data.refresh_token,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    NoSession(#[from] NoSession),
    /// The server refused the token and no refresh fixed it: the sentence for the user.
    #[error("{0}")]
    Refused(String),
    /// Anything else the request (or the refresh) ran into.
    #[error(transparent)]
    Api(ApiError),
}

pub struct Auth<R> {
    caller: Caller,
    url: ApiUrl,
    rotate: R,
    /// The environment's tokens and, after a refresh, their successors (the environment
    /// can't be written back). `None`: the saved login, re-read on every use, so that a
    /// `mem0 login` or another process's refresh is picked up at once.
    env: Option<Mutex<Session>>,
    /// For the environment's refresh token: the file its rotations are recorded in.
    chain: Option<PathBuf>,
    flight: Mutex<()>,
}

impl<R: Rotate> Auth<R> {
    /// The environment's token if one is set, else the saved login. An environment
    /// refresh token that was rotated before (by an earlier run) continues its chain.
    pub fn new(caller: Caller, url: ApiUrl, rotate: R) -> Self {
        let mut env = Session::from_env(caller);
        let chain = env
            .as_ref()
            .and_then(|session| session.refresh.as_deref())
            .and_then(|seed| credentials::chain_path(seed).ok());
        if let (Some(session), Some(path)) = (env.as_mut(), chain.as_deref())
            && let Ok(Some(link)) = credentials::load_chain(path)
            && link.api_url == url
        {
            session.token = link.token;
            session.refresh = Some(link.refresh_token);
        }
        Self {
            env: env.map(Mutex::new),
            chain,
            ..Self::saved(caller, url, rotate)
        }
    }

    /// The saved login, whatever the environment says.
    pub fn saved(caller: Caller, url: ApiUrl, rotate: R) -> Self {
        Self {
            caller,
            url,
            rotate,
            env: None,
            chain: None,
            flight: Mutex::new(()),
        }
    }

    async fn current(&self) -> Result<Session, AuthError> {
        match &self.env {
            Some(env) => Ok(env.lock().await.clone()),
            None => Ok(Session::saved(&self.url)?),
        }
    }

    /// The session to send now, refreshed first when its token is due.
    pub async fn session(&self) -> Result<Session, AuthError> {
        let session = self.current().await?;
        if session.refresh.is_none() || !token::refresh_due(&session.token, token::now_ms()) {
            return Ok(session);
        }
        match self.refresh(&session).await {
            // A server that is down or busy now: the token may still have a fifth of its
            // life, and the request itself will say what is wrong.
            Err(AuthError::Api(_)) => Ok(session),
            other => other,
        }
    }

    /// Runs `request` with the session's token; after a 401, refreshes (once for all
    /// callers holding that token) and retries once. Hands back the session it used.
    pub async fn send<T, F, Fut>(&self, request: F) -> Result<(Session, T), AuthError>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let session = self.session().await?;
        let message = match request(session.token.clone()).await {
            Err(ApiError::Unauthorized { message }) => message,
            other => return other.map(|value| (session, value)).map_err(AuthError::Api),
        };
        if session.refresh.is_none() {
            return Err(self.refused(&session, &message));
        }
        let fresh = self.refresh(&session).await?;
        match request(fresh.token.clone()).await {
            Err(ApiError::Unauthorized { message }) => Err(self.refused(&fresh, &message)),
            other => other.map(|value| (fresh, value)).map_err(AuthError::Api),
        }
    }

    fn refused(&self, session: &Session, message: &str) -> AuthError {
        AuthError::Refused(session.refused(self.caller, &self.url, message))
    }

    /// The session that replaces `stale`: refreshed here, or by whoever got there first
    /// (a concurrent caller, or for the saved login another mem0 process).
    async fn refresh(&self, stale: &Session) -> Result<Session, AuthError> {
        let _flight = self.flight.lock().await;
        let Some(env) = &self.env else {
            return self.refresh_saved(stale).await;
        };
        let current = env.lock().await.clone();
        if current.token != stale.token {
            return Ok(current);
        }
        let Some(path) = &self.chain else {
            let fresh = self.rotate(&current).await?;
            return Ok(adopt(&mut *env.lock().await, fresh.access, fresh.refresh));
        };
        let _lock = credentials::lock(path).await.map_err(NoSession::from)?;
        // Another server started from the same configuration may have rotated it.
        if let Some(link) = credentials::load_chain(path).map_err(NoSession::from)?
            && link.api_url == self.url
            && link.token != current.token
        {
            return Ok(adopt(
                &mut *env.lock().await,
                link.token,
                link.refresh_token,
            ));
        }
        let fresh = self.rotate(&current).await?;
        let session = adopt(
            &mut *env.lock().await,
            fresh.access.clone(),
            fresh.refresh.clone(),
        );
        // Kept in memory first: if the file can't be written this run still goes on.
        credentials::save_chain(
            path,
            &Chain {
                token: fresh.access,
                refresh_token: fresh.refresh,
                api_url: self.url.clone(),
            },
        )
        .map_err(NoSession::from)?;
        Ok(session)
    }

    /// Under the credentials file's lock, and with the file read again inside it: two
    /// processes refreshing at once would otherwise both present the same refresh token.
    async fn refresh_saved(&self, stale: &Session) -> Result<Session, AuthError> {
        let path = credentials::path().map_err(NoSession::from)?;
        let _lock = credentials::lock(&path).await.map_err(NoSession::from)?;
        let current = Session::saved(&self.url)?;
        if current.token != stale.token {
            return Ok(current);
        }
        let fresh = self.rotate(&current).await?;
        credentials::save(&Saved {
            token: fresh.access.clone(),
            email: current.email.clone().unwrap_or_default(),
            api_url: self.url.clone(),
            refresh_token: Some(fresh.refresh.clone()),
        })
        .map_err(NoSession::from)?;
        Ok(Session {
            token: fresh.access,
            refresh: Some(fresh.refresh),
            ..current
        })
    }

    async fn rotate(&self, current: &Session) -> Result<Fresh, AuthError> {
        let Some(refresh) = current.refresh.as_deref() else {
            return Err(AuthError::Refused(current.ended(self.caller)));
        };
        match self.rotate.rotate(refresh).await {
            Ok(fresh) => Ok(fresh),
            Err(ApiError::Unauthorized { .. }) => {
                Err(AuthError::Refused(current.ended(self.caller)))
            }
            Err(other) => Err(AuthError::Api(other)),
        }
    }
}

fn adopt(held: &mut Session, token: String, refresh: String) -> Session {
    held.token = token;
    held.refresh = Some(refresh);
    held.clone()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::session::Source;

    /// A token issued `age` seconds ago that lives `lifetime` seconds; `n` tells them apart.
    fn token(age: i64, lifetime: i64, n: usize) -> String {
        let iat = token::now() - age;
        let claims = format!(r#"{{"iat":{iat},"exp":{},"n":{n}}}"#, iat + lifetime);
        format!("eyJh.{}.sig", URL_SAFE_NO_PAD.encode(claims))
    }

    /// Counts refreshes; each takes a while, so concurrent callers overlap it.
    struct Counter {
        calls: AtomicUsize,
        refuse: bool,
    }

    impl Rotate for Arc<Counter> {
        async fn rotate(&self, refresh_token: &str) -> Result<Fresh, ApiError> {
            let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            if self.refuse {
                return Err(ApiError::Unauthorized {
                    message: "unknown refresh token".to_owned(),
                });
            }
            Ok(Fresh {
                access: token(0, 3600, n),
                refresh: format!("{refresh_token}+{n}"),
            })
        }
    }

    fn auth(
        access: String,
        refresh: Option<&str>,
        refuse: bool,
    ) -> (Arc<Auth<Arc<Counter>>>, Arc<Counter>) {
        let counter = Arc::new(Counter {
            calls: AtomicUsize::new(0),
            refuse,
        });
        let session = Session {
            token: access,
            refresh: refresh.map(str::to_owned),
            source: Source::Env("MEM0_JWT_TOKEN"),
            email: None,
        };
        let auth = Auth {
            caller: Caller::Mcp,
            url: ApiUrl::parse("http://127.0.0.1:8000").expect("url"),
            rotate: Arc::clone(&counter),
            env: Some(Mutex::new(session)),
            chain: None,
            flight: Mutex::new(()),
        };
        (Arc::new(auth), counter)
    }

    #[tokio::test]
    async fn many_callers_with_a_due_token_share_one_refresh() {
        // 9 s into a 10 s lifetime: past 80%.
        let (auth, counter) = auth(token(9, 10, 0), Some("r0"), false);
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let auth = Arc::clone(&auth);
            callers.spawn(async move { auth.session().await.map(|s| (s.token, s.refresh)) });
        }
        let results: Vec<_> = callers.join_all().await;
        assert_eq!(counter.calls.load(Ordering::SeqCst), 1, "one refresh");
        let first = results[0].as_ref().expect("refreshed").clone();
        assert_eq!(
            first.1.as_deref(),
            Some("r0+1"),
            "the rotated refresh token is kept"
        );
        for result in &results {
            assert_eq!(
                result.as_ref().expect("refreshed"),
                &first,
                "all got the new token"
            );
        }
        // The new token is fresh: nothing more to do.
        auth.session().await.expect("session");
        assert_eq!(counter.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_token_before_80_percent_of_its_lifetime_is_used_as_it_is() {
        let young = token(7, 10, 0);
        let (auth, counter) = auth(young.clone(), Some("r0"), false);
        assert_eq!(auth.session().await.expect("session").token, young);
        assert_eq!(counter.calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn concurrent_401s_cost_one_refresh_and_every_request_is_retried_once() {
        // Young by its claims, but the server refuses it (e.g. its clock runs ahead).
        let refused = token(0, 3600, 0);
        let (auth, counter) = auth(refused.clone(), Some("r0"), false);
        let sent = Arc::new(AtomicUsize::new(0));
        let mut callers = tokio::task::JoinSet::new();
        for _ in 0..20 {
            let (auth, refused, sent) = (Arc::clone(&auth), refused.clone(), Arc::clone(&sent));
            callers.spawn(async move {
                auth.send(|token| {
                    let (refused, sent) = (refused.clone(), Arc::clone(&sent));
                    async move {
                        sent.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        if token == refused {
                            Err(ApiError::Unauthorized {
                                message: "Invalid or expired token.".to_owned(),
                            })
                        } else {
                            Ok(token)
                        }
                    }
                })
                .await
                .map(|(_, used)| used)
            });
        }
        let results: Vec<_> = callers.join_all().await;
        assert_eq!(counter.calls.load(Ordering::SeqCst), 1, "one refresh");
        assert_eq!(
            sent.load(Ordering::SeqCst),
            40,
            "each request sent twice, no more"
        );
        for result in results {
            assert_ne!(result.expect("retried with the new token"), refused);
        }
    }

    #[tokio::test]
    async fn a_refused_refresh_says_the_session_has_ended() {
        let (auth, counter) = auth(token(9, 10, 0), Some("r0"), true);
        let error = auth.session().await.expect_err("ended");
        assert!(error.to_string().contains("session has ended"), "{error}");
        assert!(error.to_string().contains("mem0 login"), "{error}");
        assert_eq!(counter.calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn without_a_refresh_token_a_401_is_explained_and_nothing_is_refreshed() {
        let expired = token(7200, 3600, 0);
        let (auth, counter) = auth(expired, None, false);
        let sent = AtomicUsize::new(0);
        let error = auth
            .send(|_| {
                sent.fetch_add(1, Ordering::SeqCst);
                async {
                    Err::<(), _>(ApiError::Unauthorized {
                        message: "Invalid or expired token.".to_owned(),
                    })
                }
            })
            .await
            .expect_err("refused");
        let text = error.to_string();
        assert!(text.contains("MEM0_JWT_TOKEN expired at"), "{text}");
        assert!(text.contains("mem0 login"), "{text}");
        assert_eq!(sent.load(Ordering::SeqCst), 1, "not retried");
        assert_eq!(counter.calls.load(Ordering::SeqCst), 0);
    }
}
