//! Random lock tokens.
//!
//! A token is what makes a lock *yours*: the token and fenced locks store it
//! as the key's value and release only if it is still there. 128 random bits
//! make a collision between two grants as unlikely as anything gets (the
//! Redis documentation's single-instance algorithm asks for a value "unique
//! across all clients and all lock requests").

use std::fmt;

use rand::Rng;
use redis::{RedisWrite, ToRedisArgs};

/// A random 128-bit token, written as 32 lowercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token(u128);

impl Token {
    /// A fresh token from the thread's cryptographically secure generator.
    pub fn random() -> Self {
        Self(rand::rng().random())
    }

    /// Parses 32 lowercase hex digits, as written by `Display` (e.g. a value
    /// read back from Redis). `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !ok {
            return None;
        }
        u128::from_str_radix(s, 16).ok().map(Self)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl ToRedisArgs for Token {
    fn write_redis_args<W>(&self, out: &mut W)
    where
        W: ?Sized + RedisWrite,
    {
        out.write_arg(self.to_string().as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn tokens_are_32_lowercase_hex_digits() {
        for _ in 0..1000 {
            let s = Token::random().to_string();
            assert_eq!(s.len(), 32, "{s}");
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{s}"
            );
        }
        // Leading zeros are kept.
        assert_eq!(Token(1).to_string(), format!("{}1", "0".repeat(31)));
    }

    #[test]
    fn tokens_are_unique() {
        let tokens: HashSet<Token> = (0..10_000).map(|_| Token::random()).collect();
        assert_eq!(tokens.len(), 10_000);
    }

    #[test]
    fn a_token_parses_back() {
        let t = Token::random();
        assert_eq!(Token::parse(&t.to_string()), Some(t));
        assert_eq!(Token::parse("1"), None);
        assert_eq!(Token::parse(&"A".repeat(32)), None);
        assert_eq!(Token::parse(&"+".repeat(32)), None);
        assert_eq!(Token::parse(&"0".repeat(33)), None);
    }
}
