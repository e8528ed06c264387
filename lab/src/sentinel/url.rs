//! The `--redis` form for a Sentinel deployment of the user's own:
//!
//! ```text
//! redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]
//! ```
//!
//! This is the convention of Python's `Redis-Sentinel-Url` (which defined
//! the scheme), RedisVL and Prefect's docket: the Sentinels as a
//! comma-separated host list (port 26379 when left out, an IPv6 host in
//! brackets), the service name (the one in `sentinel monitor`) as the first
//! path segment, the database as the second. As in RedisVL and docket, the
//! credentials are for the Redis nodes; the Sentinels are asked without.
//! Query options are refused rather than ignored.
//!
//! [`RedisTarget`] takes either form of `--redis`: a plain `redis://` URL,
//! used as it is, or a Sentinel URL, resolved to the current primary each
//! time it is asked (so a caller that asks again after an error follows a
//! failover).

use std::fmt;
use std::str::FromStr;

use super::resolve::{PrimaryResolver, ResolveError};

/// The scheme.
pub const SCHEME: &str = "redis+sentinel";

/// The port of a Sentinel given without one.
pub const DEFAULT_SENTINEL_PORT: u16 = 26379;

/// A parsed `redis+sentinel://` URL.
///
/// ```
/// use locklab::sentinel::SentinelUrl;
///
/// let url: SentinelUrl = "redis+sentinel://s1,s2:26380/mymaster/2".parse().unwrap();
/// assert_eq!(url.hosts(), [("s1".to_string(), 26379), ("s2".to_string(), 26380)]);
/// assert_eq!(url.service(), "mymaster");
/// assert_eq!(url.db(), 2);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SentinelUrl {
    hosts: Vec<(String, u16)>,
    service: String,
    db: i64,
    /// As written (percent-encoded).
    userinfo: Option<String>,
}

/// Why a string is not a usable Sentinel URL. Each message is one line,
/// quotes the URL with any password hidden, and says what to give.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SentinelUrlError {
    /// Another scheme.
    #[error("{url}: not a Sentinel URL (give {SCHEME}://host:port[,host:port...]/service[/db])")]
    NotSentinel {
        /// The URL, password hidden.
        url: String,
    },
    /// Nothing between `://` and the service name.
    #[error("{url}: no Sentinel host (give {SCHEME}://host:port[,host:port...]/service)")]
    NoHosts {
        /// The URL, password hidden.
        url: String,
    },
    /// An empty entry in the host list, or a host that cannot be read.
    #[error("{url}: bad Sentinel host {host:?} (give host[:port], an IPv6 address in brackets)")]
    BadHost {
        /// The URL, password hidden.
        url: String,
        /// The entry.
        host: String,
    },
    /// A port that is not 1 to 65535.
    #[error("{url}: bad port {port:?} for Sentinel {host} (give 1 to 65535)")]
    BadPort {
        /// The URL, password hidden.
        url: String,
        /// The host it belongs to.
        host: String,
        /// What was written.
        port: String,
    },
    /// No service name.
    #[error(
        "{url}: no service name (give {SCHEME}://host:port/SERVICE, \
         the name the Sentinels monitor the primary under)"
    )]
    MissingService {
        /// The URL, password hidden.
        url: String,
    },
    /// A database that is not a number from 0.
    #[error("{url}: bad database {db:?} (give a number from 0)")]
    BadDb {
        /// The URL, password hidden.
        url: String,
        /// What was written.
        db: String,
    },
    /// More path after the database, a query or a fragment.
    #[error("{url}: unexpected {rest:?} (the form is {SCHEME}://hosts/service[/db], no options)")]
    Unexpected {
        /// The URL, password hidden.
        url: String,
        /// The part that does not belong.
        rest: String,
    },
}

impl SentinelUrl {
    /// Parses a `redis+sentinel://` URL (see the module docs).
    pub fn parse(url: &str) -> Result<Self, SentinelUrlError> {
        let shown = redact(url);
        let Some(rest) = strip_scheme(url) else {
            return Err(SentinelUrlError::NotSentinel { url: shown });
        };
        if let Some(i) = rest.find(['?', '#']) {
            return Err(SentinelUrlError::Unexpected {
                url: shown,
                rest: rest[i..].to_string(),
            });
        }
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, host_list) = match authority.rsplit_once('@') {
            Some((user, hosts)) => (Some(user.to_string()), hosts),
            None => (None, authority),
        };
        if host_list.is_empty() {
            return Err(SentinelUrlError::NoHosts { url: shown });
        }
        let hosts = host_list
            .split(',')
            .map(|entry| parse_host(entry, &shown))
            .collect::<Result<Vec<_>, _>>()?;
        let mut segments = path.split('/');
        let service = segments.next().unwrap_or_default();
        if service.is_empty() {
            return Err(SentinelUrlError::MissingService { url: shown });
        }
        let db = match segments.next() {
            None | Some("") => 0,
            Some(db) => db.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                SentinelUrlError::BadDb {
                    url: shown.clone(),
                    db: db.to_string(),
                }
            })?,
        };
        let trailing: Vec<&str> = segments.collect();
        if trailing.iter().any(|s| !s.is_empty()) {
            return Err(SentinelUrlError::Unexpected {
                url: shown,
                rest: format!("/{}", trailing.join("/")),
            });
        }
        Ok(SentinelUrl {
            hosts,
            service: service.to_string(),
            db,
            userinfo,
        })
    }

    /// The Sentinels, as `(host, port)`, in the order given.
    pub fn hosts(&self) -> &[(String, u16)] {
        &self.hosts
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The database on the primary.
    pub fn db(&self) -> i64 {
        self.db
    }

    /// A resolver that asks these Sentinels for the service's primary.
    pub fn resolver(&self) -> Result<PrimaryResolver, ResolveError> {
        PrimaryResolver::with_auth(
            &self.hosts,
            &self.service,
            self.userinfo.as_deref(),
            self.db,
        )
    }

    /// The current primary's `redis://` URL (with the credentials and the
    /// database), as the Sentinels name it now.
    pub async fn primary_url(&self) -> Result<String, ResolveError> {
        self.resolver()?.primary_url().await
    }
}

impl FromStr for SentinelUrl {
    type Err = SentinelUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SentinelUrl::parse(s)
    }
}

/// The URL, with any password hidden.
impl fmt::Display for SentinelUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hosts: Vec<String> = self
            .hosts
            .iter()
            .map(|(h, p)| {
                if h.contains(':') {
                    format!("[{h}]:{p}")
                } else {
                    format!("{h}:{p}")
                }
            })
            .collect();
        let user = self
            .userinfo
            .as_deref()
            .map(|u| format!("{}@", redact_userinfo(u)))
            .unwrap_or_default();
        write!(
            f,
            "{SCHEME}://{user}{}/{}/{}",
            hosts.join(","),
            self.service,
            self.db
        )
    }
}

impl fmt::Debug for SentinelUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SentinelUrl({self})")
    }
}

/// What `--redis` names: one Redis, or a Sentinel service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisTarget {
    /// A `redis://` (or `rediss://`, `unix://`) URL, used as it is.
    Direct(String),
    /// A Sentinel service, resolved to its primary when asked.
    Sentinel(SentinelUrl),
}

/// A `--redis` URL that is neither form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedisTargetError {
    /// A Sentinel URL that does not parse.
    #[error(transparent)]
    Sentinel(#[from] SentinelUrlError),
    /// Not a URL the `redis` crate takes.
    #[error("{url}: not a Redis URL ({detail}); give redis://host:port[/db] or {SCHEME}://host:port[,host:port...]/service[/db]")]
    NotRedis {
        /// The URL, password hidden.
        url: String,
        /// What the `redis` crate said.
        detail: String,
    },
}

impl RedisTarget {
    /// Reads `--redis`: a Sentinel URL by its scheme, anything else as a
    /// Redis URL (checked, not connected to).
    pub fn parse(url: &str) -> Result<Self, RedisTargetError> {
        if strip_scheme(url).is_some() {
            return Ok(RedisTarget::Sentinel(SentinelUrl::parse(url)?));
        }
        redis::Client::open(url).map_err(|e| RedisTargetError::NotRedis {
            url: redact(url),
            detail: e.to_string(),
        })?;
        Ok(RedisTarget::Direct(url.to_string()))
    }

    /// The URL to connect to now: the direct one, or the Sentinels' current
    /// primary.
    pub async fn primary_url(&self) -> Result<String, ResolveError> {
        match self {
            RedisTarget::Direct(url) => Ok(url.clone()),
            RedisTarget::Sentinel(sentinel) => sentinel.primary_url().await,
        }
    }
}

/// What follows `redis+sentinel://` (the scheme in any case), if that is
/// the scheme.
fn strip_scheme(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    scheme.eq_ignore_ascii_case(SCHEME).then_some(rest)
}

/// One entry of the host list: `host`, `host:port`, `[v6]` or `[v6]:port`.
fn parse_host(entry: &str, url: &str) -> Result<(String, u16), SentinelUrlError> {
    let bad_host = || SentinelUrlError::BadHost {
        url: url.to_string(),
        host: entry.to_string(),
    };
    let (host, port) = if let Some(v6) = entry.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad_host)?;
        match after {
            "" => (host, None),
            _ => (host, Some(after.strip_prefix(':').ok_or_else(bad_host)?)),
        }
    } else {
        match entry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        }
    };
    if host.is_empty() || host.contains(['[', ']', ' ', '@']) {
        return Err(bad_host());
    }
    let port =
        match port {
            None => DEFAULT_SENTINEL_PORT,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| {
                SentinelUrlError::BadPort {
                    url: url.to_string(),
                    host: host.to_string(),
                    port: p.to_string(),
                }
            })?,
        };
    Ok((host.to_string(), port))
}

/// `url` with the password of its userinfo, if any, replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((userinfo, _)) => format!(
            "{scheme}://{}{}",
            redact_userinfo(userinfo),
            &rest[userinfo.len()..]
        ),
        None => url.to_string(),
    }
}

fn redact_userinfo(userinfo: &str) -> String {
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{user}:***"),
        None => userinfo.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(url: &SentinelUrl) -> Vec<(&str, u16)> {
        url.hosts().iter().map(|(h, p)| (h.as_str(), *p)).collect()
    }

    #[test]
    fn parses_the_forms() {
        let url = SentinelUrl::parse("redis+sentinel://127.0.0.1:5000/locklab").unwrap();
        assert_eq!(hosts(&url), [("127.0.0.1", 5000)]);
        assert_eq!((url.service(), url.db()), ("locklab", 0));

        let url = SentinelUrl::parse("REDIS+SENTINEL://a,b:2,[::1],[::1]:3/svc/4/").unwrap();
        assert_eq!(
            hosts(&url),
            [("a", 26379), ("b", 2), ("::1", 26379), ("::1", 3)]
        );
        assert_eq!((url.service(), url.db()), ("svc", 4));

        let url = SentinelUrl::parse("redis+sentinel://u:p%40ss@h:1/svc").unwrap();
        assert_eq!(url.userinfo.as_deref(), Some("u:p%40ss"));
        assert_eq!(url.to_string(), "redis+sentinel://u:***@h:1/svc/0");
    }

    #[test]
    fn each_mistake_is_one_line_without_the_password() {
        type Expect = fn(&SentinelUrlError) -> bool;
        let cases: [(&str, Expect); 11] = [
            ("redis://h:1/svc", |e| {
                matches!(e, SentinelUrlError::NotSentinel { .. })
            }),
            ("redis+sentinel:///svc", |e| {
                matches!(e, SentinelUrlError::NoHosts { .. })
            }),
            ("redis+sentinel://u:secret@/svc", |e| {
                matches!(e, SentinelUrlError::NoHosts { .. })
            }),
            ("redis+sentinel://h:1,,h:2/svc", |e| {
                matches!(e, SentinelUrlError::BadHost { .. })
            }),
            ("redis+sentinel://[::1/svc", |e| {
                matches!(e, SentinelUrlError::BadHost { .. })
            }),
            ("redis+sentinel://h:99999/svc", |e| {
                matches!(e, SentinelUrlError::BadPort { .. })
            }),
            ("redis+sentinel://h:x/svc", |e| {
                matches!(e, SentinelUrlError::BadPort { .. })
            }),
            ("redis+sentinel://u:secret@h:1", |e| {
                matches!(e, SentinelUrlError::MissingService { .. })
            }),
            ("redis+sentinel://h:1//0", |e| {
                matches!(e, SentinelUrlError::MissingService { .. })
            }),
            ("redis+sentinel://h:1/svc/-1", |e| {
                matches!(e, SentinelUrlError::BadDb { .. })
            }),
            ("redis+sentinel://h:1/svc/0?x=1", |e| {
                matches!(e, SentinelUrlError::Unexpected { .. })
            }),
        ];
        for (url, is_expected) in cases {
            let err = SentinelUrl::parse(url).expect_err(url);
            assert!(is_expected(&err), "{url}: {err:?}");
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(!msg.contains("secret"), "{msg}");
        }
        let err = SentinelUrl::parse("redis+sentinel://h:1/svc/0/extra").unwrap_err();
        assert!(
            matches!(err, SentinelUrlError::Unexpected { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn redis_target_takes_both_forms() {
        assert_eq!(
            RedisTarget::parse("redis://127.0.0.1:6379/").unwrap(),
            RedisTarget::Direct("redis://127.0.0.1:6379/".into())
        );
        assert!(matches!(
            RedisTarget::parse("redis+sentinel://h/svc").unwrap(),
            RedisTarget::Sentinel(_)
        ));
        let err = RedisTarget::parse("redis+sentinel://h").unwrap_err();
        assert!(matches!(
            err,
            RedisTargetError::Sentinel(SentinelUrlError::MissingService { .. })
        ));
        let err = RedisTarget::parse("http://u:secret@h/").unwrap_err();
        assert!(matches!(err, RedisTargetError::NotRedis { .. }), "{err:?}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}
