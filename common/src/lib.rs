//! What every Rialto service shares and nothing else: the caller's identity as the edge
//! established it, the request's metadata, the error codes of the public contract, and the
//! trading path's shared vocabulary (bus event schemas and topics, cache-version keys, candle
//! intervals). No I/O lives here.

pub mod candles;
pub mod codes;
pub mod context;
pub mod events;
pub mod hot;
pub mod identity;
pub mod journal;
pub mod money;
pub mod request;

pub use codes::ErrorCode;
pub use context::{ContextSigner, SubgraphContext};
pub use identity::{Caller, Credential, Identity, Role, Scope};
pub use money::MoneyError;
pub use request::RequestMeta;
