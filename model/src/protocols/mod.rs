//! One module per protocol: its rules, the source it follows, and the lesson
//! it is there to teach. The transitions they drive live in
//! [`crate::model`]; the Redis commands they stand for in
//! [`crate::narrate`].

pub mod fenced;
pub mod naive;
pub mod naive_unchecked;
pub mod token;
