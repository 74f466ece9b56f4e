//! # nanostream-net
//!
//! The network layer of NanoStream (not built yet): a broker that exposes topics to remote
//! publishers and subscribers over RESP2, the Redis protocol, so that existing Redis clients and
//! tools work against it. Each topic will be a multi-producer ring of byte payloads from the
//! `nanostream` core, with a fan-out handler writing to subscriber sockets.
//!
//! This crate is a placeholder in the workspace so that the layout is fixed from the start; it
//! exports nothing yet.
