//! Matomo's IP anonymisation, byte for byte.
//!
//! Source: `matomo-org/component-network` `src/IPv4.php::anonymize` and `src/IPv6.php::anonymize`
//! (used by `plugins/PrivacyManager/IPAnonymizer.php`; MATOMO.md 3.3). IPv4 zeroes the last N
//! bytes. IPv6 applies one of five masks: 0 unchanged, 1 keeps /64, 2 keeps /48, 3 keeps /24
//! (`ffff:ff00::`), 4 zeroes everything. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is
//! treated like IPv4 and stays in its mapped form, as Matomo's binary string does.
//! A mask above 4 is clamped to 4, as Matomo does for IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Matomo's default `ipAddressMaskLength`.
pub const DEFAULT_MASK_BYTES: u8 = 2;

/// Anonymises `ip` by `mask_bytes` (0..=4; larger values act as 4).
pub fn anonymise(ip: IpAddr, mask_bytes: u8) -> IpAddr {
    let mask_bytes = usize::from(mask_bytes.min(4));
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(zero_tail(v4.octets(), mask_bytes))),
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
            IpAddr::V6(Ipv6Addr::from(zero_tail(v6.octets(), mask_bytes)))
        }
        IpAddr::V6(v6) => {
            let keep_bits: u32 = match mask_bytes {
                0 => 128,
                1 => 64,
                2 => 48,
                3 => 24,
                _ => 0,
            };
            let mask = u128::MAX.checked_shl(128 - keep_bits).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
        }
    }
}

fn zero_tail<const N: usize>(mut octets: [u8; N], count: usize) -> [u8; N] {
    for byte in octets.iter_mut().rev().take(count) {
        *byte = 0;
    }
    octets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon(ip: &str, mask: u8) -> String {
        anonymise(ip.parse().expect("test ip"), mask).to_string()
    }

    #[test]
    fn ipv4_zeroes_the_last_n_bytes() {
        assert_eq!(anon("192.168.201.97", 0), "192.168.201.97");
        assert_eq!(anon("192.168.201.97", 1), "192.168.201.0");
        assert_eq!(anon("192.168.201.97", 2), "192.168.0.0");
        assert_eq!(anon("192.168.201.97", 3), "192.0.0.0");
        assert_eq!(anon("192.168.201.97", 4), "0.0.0.0");
    }

    #[test]
    fn a_mask_above_four_acts_as_four() {
        assert_eq!(anon("10.1.2.3", 9), "0.0.0.0");
        assert_eq!(anon("2001:db8::1", 200), "::");
    }

    #[test]
    fn ipv6_with_mask_zero_is_unchanged() {
        assert_eq!(
            anon("2001:db8:1234:5678:9abc:def0:1234:5678", 0),
            "2001:db8:1234:5678:9abc:def0:1234:5678"
        );
    }

    #[test]
    fn ipv6_with_mask_one_keeps_the_first_64_bits() {
        assert_eq!(
            anon("2001:db8:1234:5678:9abc:def0:1234:5678", 1),
            "2001:db8:1234:5678::"
        );
    }

    #[test]
    fn ipv6_with_mask_two_keeps_the_first_48_bits() {
        assert_eq!(
            anon("2001:db8:1234:5678:9abc:def0:1234:5678", 2),
            "2001:db8:1234::"
        );
    }

    #[test]
    fn ipv6_with_mask_three_keeps_the_first_24_bits() {
        assert_eq!(
            anon("2001:dbff:1234:5678:9abc:def0:1234:5678", 3),
            "2001:db00::"
        );
    }

    #[test]
    fn ipv6_with_mask_four_is_all_zero() {
        assert_eq!(anon("2001:db8:1234:5678:9abc:def0:1234:5678", 4), "::");
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_is_masked_like_ipv4() {
        assert_eq!(anon("::ffff:192.168.201.97", 1), "::ffff:192.168.201.0");
        assert_eq!(anon("::ffff:192.168.201.97", 2), "::ffff:192.168.0.0");
        assert_eq!(anon("::ffff:192.168.201.97", 4), "::ffff:0.0.0.0");
    }
}
