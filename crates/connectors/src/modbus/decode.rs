//! Registers to numbers. Modbus defines a register as a big-endian 16-bit word (Modbus
//! Application Protocol Specification V1.1b3, §4.2) but not how wider values span registers,
//! so meters differ: the word order (which register holds the most significant half) and the
//! byte order inside each register are configured per point. The four combinations are often
//! written ABCD (big, big), CDAB (little words), BADC (little bytes) and DCBA (both little).

use super::config::{DataType, ModbusPoint, Order};

/// Why registers could not be turned into a reading.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DecodeError {
    /// The number of registers does not match the data type.
    #[error("a {data_type} needs {expected} registers, {got} were given")]
    WordCount {
        /// The data type's name.
        data_type: &'static str,
        /// Registers it needs.
        expected: u16,
        /// Registers given.
        got: usize,
    },
    /// The decoded or scaled value is NaN or infinite: no reading can carry it.
    #[error("{value} is not a finite value")]
    NonFinite {
        /// The value.
        value: f64,
    },
}

/// The raw value of `words` (exactly the type's register count) as the type encodes it.
pub fn decode(
    words: &[u16],
    data_type: DataType,
    word_order: Order,
    byte_order: Order,
) -> Result<f64, DecodeError> {
    let n = usize::from(data_type.registers());
    if words.len() != n {
        return Err(DecodeError::WordCount {
            data_type: data_type.as_str(),
            expected: data_type.registers(),
            got: words.len(),
        });
    }
    // The value's bytes, most significant first, whatever order the device sent them in.
    let mut b = [0u8; 8];
    for i in 0..n {
        let word = match word_order {
            Order::Big => words[i],
            Order::Little => words[n - 1 - i],
        };
        let pair = match byte_order {
            Order::Big => word.to_be_bytes(),
            Order::Little => word.to_le_bytes(),
        };
        b[2 * i] = pair[0];
        b[2 * i + 1] = pair[1];
    }
    let two = [b[0], b[1]];
    let four = [b[0], b[1], b[2], b[3]];
    Ok(match data_type {
        DataType::U16 => f64::from(u16::from_be_bytes(two)),
        DataType::I16 => f64::from(i16::from_be_bytes(two)),
        DataType::U32 => f64::from(u32::from_be_bytes(four)),
        DataType::I32 => f64::from(i32::from_be_bytes(four)),
        DataType::F32 => f64::from(f32::from_be_bytes(four)),
        DataType::F64 => f64::from_be_bytes(b),
    })
}

/// The point's value in its unit: raw × scale + offset; refused when not finite (a meter's
/// NaN marks a missing measurement, which must not become a number).
pub fn point_value(point: &ModbusPoint, words: &[u16]) -> Result<f64, DecodeError> {
    let raw = decode(
        words,
        point.data_type,
        point.word_order.unwrap_or_default(),
        point.byte_order.unwrap_or_default(),
    )?;
    let value = raw * point.scale + point.offset;
    if value.is_finite() {
        Ok(value)
    } else {
        Err(DecodeError::NonFinite { value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modbus::config::RegisterFunction;

    use DataType::*;
    use Order::{Big, Little};

    /// The registers of a big-endian value in the four orders: ABCD, CDAB, BADC, DCBA.
    fn orders(be: &[u16]) -> [(Order, Order, Vec<u16>); 4] {
        let rev: Vec<u16> = be.iter().rev().copied().collect();
        let swap = |w: &Vec<u16>| w.iter().map(|x| x.swap_bytes()).collect::<Vec<u16>>();
        [
            (Big, Big, be.to_vec()),
            (Little, Big, rev.clone()),
            (Big, Little, swap(&be.to_vec())),
            (Little, Little, swap(&rev)),
        ]
    }

    fn all_orders(data_type: DataType, be: &[u16], expected: f64) {
        for (words, bytes, regs) in orders(be) {
            let v = decode(&regs, data_type, words, bytes).expect("decodes");
            assert_eq!(
                v.to_bits(),
                expected.to_bits(),
                "{data_type:?} words {words:?} bytes {bytes:?} {regs:04X?}: {v}"
            );
        }
    }

    #[test]
    fn f32_examples_in_all_four_orders() {
        // 0x41C80000: sign 0, exponent 0x83 = 131 → 2^4, significand 1 + 0x480000 / 2^23 =
        // 1.5625; 16 × 1.5625 = 25.
        all_orders(F32, &[0x41C8, 0x0000], 25.0);
        // Wikipedia, "Single-precision floating-point format", single-precision examples.
        all_orders(F32, &[0x3F80, 0x0000], 1.0);
        all_orders(F32, &[0xC000, 0x0000], -2.0);
        all_orders(F32, &[0x7F7F, 0xFFFF], f64::from(f32::MAX));
        all_orders(F32, &[0x4049, 0x0FDB], f64::from(std::f32::consts::PI));
        all_orders(F32, &[0x3EAA, 0xAAAB], f64::from(1.0f32 / 3.0));
        // The CDAB layout of 25.0 spelled out, as a meter manual would print it.
        assert_eq!(decode(&[0x0000, 0x41C8], F32, Little, Big), Ok(25.0));
        assert_eq!(decode(&[0xC841, 0x0000], F32, Big, Little), Ok(25.0));
        assert_eq!(decode(&[0x0000, 0xC841], F32, Little, Little), Ok(25.0));
    }

    #[test]
    fn f64_examples_in_all_four_orders() {
        // 0x4039000000000000: exponent 0x403 = 1027 → 2^4, significand 1.5625 → 25.
        all_orders(F64, &[0x4039, 0, 0, 0], 25.0);
        // Wikipedia, "Double-precision floating-point format", double-precision examples.
        all_orders(F64, &[0x3FF0, 0, 0, 0], 1.0);
        all_orders(F64, &[0xC000, 0, 0, 0], -2.0);
        all_orders(F64, &[0x4009, 0x21FB, 0x5444, 0x2D18], std::f64::consts::PI);
        all_orders(F64, &[0x3FD5, 0x5555, 0x5555, 0x5555], 1.0 / 3.0);
    }

    #[test]
    fn integers_in_all_orders() {
        // Two's complement by hand: 123456 = 0x0001E240, inverted 0xFFFE1DBF, + 1.
        all_orders(I32, &[0xFFFE, 0x1DC0], -123_456.0);
        all_orders(U32, &[0x1234, 0x5678], 305_419_896.0);
        all_orders(U32, &[0xFFFF, 0xFFFF], 4_294_967_295.0);
        // 123 = 0x007B, inverted 0xFF84, + 1.
        assert_eq!(decode(&[0xFF85], I16, Big, Big), Ok(-123.0));
        assert_eq!(decode(&[0x85FF], I16, Big, Little), Ok(-123.0));
        assert_eq!(decode(&[0xFF85], U16, Big, Big), Ok(65_413.0));
        assert_eq!(decode(&[0x0102], U16, Big, Little), Ok(513.0));
    }

    #[test]
    fn a_wrong_register_count_is_refused() {
        assert_eq!(
            decode(&[1, 2, 3], F32, Big, Big),
            Err(DecodeError::WordCount {
                data_type: "f32",
                expected: 2,
                got: 3
            })
        );
    }

    fn point(data_type: DataType, scale: f64, offset: f64) -> ModbusPoint {
        ModbusPoint {
            tag: "T".into(),
            address: 0,
            function: RegisterFunction::Holding,
            data_type,
            word_order: None,
            byte_order: None,
            scale,
            offset,
            unit: "kW".into(),
        }
    }

    #[test]
    fn scale_and_offset_apply_and_nan_is_no_value() {
        // 2982 tenths of a kelvin: 298.2 K − 273.15 = 25.05 °C.
        let v = point_value(&point(U16, 0.1, -273.15), &[2982]).expect("a value");
        assert!((v - 25.05).abs() < 1e-9, "{v}");
        assert_eq!(point_value(&point(I16, 2.0, 1.0), &[0xFFFF]), Ok(-1.0));
        assert!(matches!(
            point_value(&point(F32, 1.0, 0.0), &[0x7FC0, 0x0000]),
            Err(DecodeError::NonFinite { .. })
        ));
        assert!(matches!(
            point_value(&point(F32, 1.0, 0.0), &[0x7F80, 0x0000]),
            Err(DecodeError::NonFinite { .. })
        ));
    }
}
