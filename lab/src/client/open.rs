//! Opening any lab client by name: a protocol of `locklab-impl` (the
//! family's entry in [`crate::family`] says which client, its capabilities
//! which kind of lock or worker), or a peer crate compiled into this build.

use locklab_model::Protocol;

use super::spec::{ClientSpec, OpenError, REDLOCK_RS};
use super::LabClient;

/// Opens the client `spec` describes: connects (failing within the connect
/// timeout if it cannot) and returns it ready.
pub async fn open(spec: &ClientSpec) -> Result<Box<dyn LabClient>, OpenError> {
    if spec.redis.is_empty() {
        return Err(OpenError::Peer("no Redis URL to lock on".into()));
    }
    match spec.lock.as_str() {
        #[cfg(feature = "rslock")]
        "rslock" => Ok(Box::new(super::rslock::RslockClient::open(spec).await?)),
        #[cfg(feature = "redlock")]
        REDLOCK_RS => Ok(Box::new(super::redlock::RedlockClient::open(spec).await?)),
        name => {
            let protocol = Protocol::named(name).map_err(|_| OpenError::Unknown {
                name: name.to_owned(),
            })?;
            (crate::family::entry(protocol).open)(protocol, spec).await
        }
    }
}
