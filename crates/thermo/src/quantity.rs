//! Physical quantities in SI base units, parsed once at the boundary.
//!
//! Every type holds its value in one SI unit, named in the type's doc. Constructors refuse
//! non-finite and non-physical values, so code that receives a quantity does not re-check it.
//! An absolute temperature and a temperature difference are different types: a difference
//! can be added to a temperature, two temperatures cannot be added.
//!
//! ```compile_fail
//! use thermo::Temperature;
//! let a = Temperature::from_kelvin(300.0).unwrap();
//! let b = Temperature::from_kelvin(350.0).unwrap();
//! let _ = a + b; // adding two absolute temperatures has no meaning
//! ```
//!
//! ```
//! use thermo::{Temperature, TemperatureDelta};
//! let stack = Temperature::from_kelvin(450.0).unwrap();
//! let air = Temperature::from_kelvin(298.15).unwrap();
//! let rise: TemperatureDelta = stack - air;
//! assert!((rise.kelvin() - 151.85).abs() < 1e-12);
//! ```

use std::ops::{Add, Sub};

use crate::error::{Error, Result};

/// Offset between the Celsius and the Kelvin scale, exact by definition (SI Brochure, 9th ed.).
pub const CELSIUS_OFFSET_K: f64 = 273.15;

/// Standard atmosphere, Pa, exact by definition (ISO 2533 / SI Brochure).
pub const STANDARD_ATMOSPHERE_PA: f64 = 101_325.0;

/// `value` if it is a finite number, else an invalid-input error naming `field`.
pub(crate) fn finite(field: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::invalid(
            field,
            format!("{value} is not a finite number"),
        ))
    }
}

/// Absolute (thermodynamic) temperature, K. Always above absolute zero.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Temperature(f64);

impl Temperature {
    /// A temperature from kelvin; refuses non-finite values and values at or below 0 K.
    pub fn from_kelvin(kelvin: f64) -> Result<Self> {
        let k = finite("temperature", kelvin)?;
        if k <= 0.0 {
            return Err(Error::invalid(
                "temperature",
                format!("{k} K is at or below absolute zero"),
            ));
        }
        Ok(Self(k))
    }

    /// A temperature from degrees Celsius.
    pub fn from_celsius(celsius: f64) -> Result<Self> {
        Self::from_kelvin(finite("temperature", celsius)? + CELSIUS_OFFSET_K)
    }

    /// The value in kelvin.
    pub fn kelvin(self) -> f64 {
        self.0
    }

    /// The value in degrees Celsius.
    pub fn celsius(self) -> f64 {
        self.0 - CELSIUS_OFFSET_K
    }
}

/// Temperature difference, K. May be negative.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct TemperatureDelta(f64);

impl TemperatureDelta {
    /// A temperature difference in kelvin.
    pub fn from_kelvin(kelvin: f64) -> Result<Self> {
        Ok(Self(finite("temperature_difference", kelvin)?))
    }

    /// The value in kelvin.
    pub fn kelvin(self) -> f64 {
        self.0
    }
}

impl Sub for Temperature {
    type Output = TemperatureDelta;
    fn sub(self, rhs: Temperature) -> TemperatureDelta {
        TemperatureDelta(self.0 - rhs.0)
    }
}

impl Add<TemperatureDelta> for Temperature {
    type Output = Temperature;
    fn add(self, rhs: TemperatureDelta) -> Temperature {
        Temperature(self.0 + rhs.0)
    }
}

/// Absolute pressure, Pa. Always positive; gauge readings are converted at the boundary.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Pressure(f64);

impl Pressure {
    /// An absolute pressure from pascal; refuses non-finite and non-positive values.
    pub fn from_pascal(pascal: f64) -> Result<Self> {
        let p = finite("pressure", pascal)?;
        if p <= 0.0 {
            return Err(Error::invalid(
                "pressure",
                format!("{p} Pa is not a positive absolute pressure"),
            ));
        }
        Ok(Self(p))
    }

    /// The value in pascal.
    pub fn pascal(self) -> f64 {
        self.0
    }

    /// The value in megapascal, the unit of the IF97 equations.
    pub fn megapascal(self) -> f64 {
        self.0 * 1e-6
    }
}

/// Mass flow rate, kg/s. Zero or positive.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct MassFlow(f64);

impl MassFlow {
    /// A mass flow from kg/s; refuses non-finite and negative values.
    pub fn from_kg_per_s(kg_per_s: f64) -> Result<Self> {
        let m = finite("mass_flow", kg_per_s)?;
        if m < 0.0 {
            return Err(Error::invalid("mass_flow", format!("{m} kg/s is negative")));
        }
        Ok(Self(m))
    }

    /// The value in kg/s.
    pub fn kg_per_s(self) -> f64 {
        self.0
    }
}

/// Power or heat rate, W. Zero or positive.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Power(f64);

impl Power {
    /// A power from watts; refuses non-finite and negative values.
    pub fn from_watts(watts: f64) -> Result<Self> {
        let w = finite("power", watts)?;
        if w < 0.0 {
            return Err(Error::invalid("power", format!("{w} W is negative")));
        }
        Ok(Self(w))
    }

    /// The value in watts.
    pub fn watts(self) -> f64 {
        self.0
    }
}

/// A dimensionless fraction between 0 and 1 inclusive (mole, mass or volume fraction,
/// relative humidity, quality).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Fraction(f64);

impl Fraction {
    /// A fraction; refuses values outside 0..=1.
    pub fn new(value: f64) -> Result<Self> {
        let f = finite("fraction", value)?;
        if !(0.0..=1.0).contains(&f) {
            return Err(Error::invalid("fraction", format!("{f} is outside 0..1")));
        }
        Ok(Self(f))
    }

    /// The value, 0..=1.
    pub fn value(self) -> f64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_non_physical_values() {
        assert!(Temperature::from_kelvin(0.0).is_err());
        assert!(Temperature::from_celsius(-274.0).is_err());
        assert!(Temperature::from_kelvin(f64::NAN).is_err());
        assert!(Pressure::from_pascal(-1.0).is_err());
        assert!(MassFlow::from_kg_per_s(-0.1).is_err());
        assert!(Power::from_watts(f64::INFINITY).is_err());
        assert!(Fraction::new(1.01).is_err());
        assert!(Fraction::new(-0.01).is_err());
    }

    #[test]
    fn celsius_round_trip_uses_the_exact_offset() {
        let t = Temperature::from_celsius(100.0).unwrap();
        assert_eq!(t.kelvin(), 373.15);
        assert_eq!(t.celsius(), 100.0);
    }
}
