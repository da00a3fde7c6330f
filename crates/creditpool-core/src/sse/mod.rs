//! Server-Sent Events: an incremental, sans-I/O decoder for the Messages API's
//! streaming responses.

pub mod decoder;
