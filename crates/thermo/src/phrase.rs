//! Messages for the engineer with their physical quantities kept as numbers.
//!
//! A warning or an assumption such as "stack lowered from 240.0 °C to 150.0 °C" is read by an
//! auditor in SI and by a plant engineer in US customary units. A [`Phrase`] keeps its text and
//! its quantities apart, so [`fmt::Display`] writes it in the units it was made with (SI) and a
//! display can write each [`Quantity`] in another system with the factors of [`crate::units`].

use std::borrow::Cow;
use std::fmt;

use crate::quantity::CELSIUS_OFFSET_K;
use crate::units::{Dimension, from_si};

/// A quantity inside a message: a value in a unit of a dimension, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantity {
    /// The value, in `unit`.
    pub value: f64,
    /// A unit symbol of [`crate::units`] for `dimension`.
    pub unit: Cow<'static, str>,
    /// What the value measures (a temperature or a temperature difference, for `K`).
    pub dimension: Dimension,
    /// Decimals written by [`fmt::Display`]; `None` for the shortest form that reads back
    /// exactly (a metered value as stored).
    pub decimals: Option<usize>,
}

impl Quantity {
    /// A value already in `unit`.
    pub fn new(
        value: f64,
        unit: impl Into<Cow<'static, str>>,
        dimension: Dimension,
        decimals: usize,
    ) -> Self {
        Self {
            value,
            unit: unit.into(),
            dimension,
            decimals: Some(decimals),
        }
    }

    /// A value already in `unit`, written in its shortest exact form (a metered or stated
    /// value as given).
    pub fn exact(value: f64, unit: impl Into<Cow<'static, str>>, dimension: Dimension) -> Self {
        Self {
            decimals: None,
            ..Self::new(value, unit, dimension, 0)
        }
    }

    /// An SI value of `dimension` written in `unit` (a scale or temperature unit; the value
    /// is not a number when `unit` is not one of `dimension` or the value is not physical).
    pub fn from_si(
        value_si: f64,
        unit: &'static str,
        dimension: Dimension,
        decimals: usize,
    ) -> Self {
        let value = from_si(value_si, unit, dimension, 0.0).unwrap_or(f64::NAN);
        Self::new(value, unit, dimension, decimals)
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.decimals {
            Some(d) => write!(f, "{:.*}", d, self.value)?,
            None => write!(f, "{}", self.value)?,
        }
        // An amount per energy reads "8 per GJ", not "8 /GJ".
        match self.unit.strip_prefix('/') {
            Some(per) => write!(f, " per {per}"),
            None => write!(f, " {}", self.unit),
        }
    }
}

/// A temperature in kelvin, written in °C.
pub fn celsius(kelvin: f64, decimals: usize) -> Quantity {
    Quantity::new(
        kelvin - CELSIUS_OFFSET_K,
        "°C",
        Dimension::Temperature,
        decimals,
    )
}

/// A temperature difference in kelvin, written in K.
pub fn kelvin_difference(kelvin: f64, decimals: usize) -> Quantity {
    Quantity::new(kelvin, "K", Dimension::TemperatureDifference, decimals)
}

/// One piece of a [`Phrase`].
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Words, numbers without a unit (percentages, counts) and punctuation.
    Text(Cow<'static, str>),
    /// A physical quantity.
    Quantity(Quantity),
}

/// A message made of text and quantities.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Phrase {
    parts: Vec<Part>,
}

/// What fills a `{}` of a [`Phrase::new`] template.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// Text, written as is.
    Text(Cow<'static, str>),
    /// A quantity.
    Quantity(Quantity),
    /// Another phrase, its parts spliced in.
    Phrase(Phrase),
}

impl From<Quantity> for Arg {
    fn from(q: Quantity) -> Self {
        Self::Quantity(q)
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Self::Text(s.into())
    }
}

impl From<&'static str> for Arg {
    fn from(s: &'static str) -> Self {
        Self::Text(s.into())
    }
}

impl From<Phrase> for Arg {
    fn from(p: Phrase) -> Self {
        Self::Phrase(p)
    }
}

impl Phrase {
    /// `template` with each `{}` replaced by the next argument, in order. A `{}` without an
    /// argument stays as written and arguments beyond the last `{}` are left out; both are
    /// programming errors that the module's tests of each template catch.
    pub fn new(template: &str, args: impl IntoIterator<Item = Arg>) -> Self {
        let mut phrase = Self::default();
        let mut args = args.into_iter();
        let mut pieces = template.split("{}").peekable();
        while let Some(piece) = pieces.next() {
            phrase.push_text(piece);
            if pieces.peek().is_none() {
                break;
            }
            match args.next() {
                Some(Arg::Text(t)) => phrase.push_text(&t),
                Some(Arg::Quantity(q)) => phrase.parts.push(Part::Quantity(q)),
                Some(Arg::Phrase(p)) => {
                    for part in p.parts {
                        match part {
                            Part::Text(t) => phrase.push_text(&t),
                            q @ Part::Quantity(_) => phrase.parts.push(q),
                        }
                    }
                }
                None => phrase.push_text("{}"),
            }
        }
        debug_assert!(
            args.next().is_none(),
            "more arguments than {{}} in {template:?}"
        );
        phrase
    }

    /// Text without quantities.
    pub fn text(text: impl Into<Cow<'static, str>>) -> Self {
        Self {
            parts: vec![Part::Text(text.into())],
        }
    }

    /// The pieces in order; neighbouring text is merged, so two texts never follow each other.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// The quantities in order.
    pub fn quantities(&self) -> impl Iterator<Item = &Quantity> {
        self.parts.iter().filter_map(|p| match p {
            Part::Quantity(q) => Some(q),
            Part::Text(_) => None,
        })
    }

    /// Appends text, merged with text before it.
    fn push_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        match self.parts.last_mut() {
            Some(Part::Text(t)) => t.to_mut().push_str(text),
            _ => self.parts.push(Part::Text(Cow::Owned(text.to_string()))),
        }
    }
}

impl From<String> for Phrase {
    fn from(s: String) -> Self {
        Self::text(s)
    }
}

impl From<&'static str> for Phrase {
    fn from(s: &'static str) -> Self {
        Self::text(s)
    }
}

impl fmt::Display for Phrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Text(t) => f.write_str(t)?,
                Part::Quantity(q) => write!(f, "{q}")?,
            }
        }
        Ok(())
    }
}

/// A [`Phrase`] from a template with `{}` placeholders and arguments that convert into an
/// [`Arg`] (a [`Quantity`], text or a phrase).
#[macro_export]
macro_rules! phrase {
    ($template:expr $(, $arg:expr)* $(,)?) => {
        $crate::phrase::Phrase::new($template, [$($crate::phrase::Arg::from($arg)),*])
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_writes_its_quantities_in_their_units() {
        let p = phrase!(
            "stack lowered from {} to {} ({} approach; {})",
            celsius(513.15, 1),
            celsius(423.15, 0),
            kelvin_difference(20.0, 0),
            format!("{:.1} %", 12.345)
        );
        assert_eq!(
            p.to_string(),
            "stack lowered from 240.0 °C to 150 °C (20 K approach; 12.3 %)"
        );
        let dims: Vec<Dimension> = p.quantities().map(|q| q.dimension).collect();
        assert_eq!(
            dims,
            [
                Dimension::Temperature,
                Dimension::Temperature,
                Dimension::TemperatureDifference
            ]
        );
        assert!(matches!(&p.parts()[0], Part::Text(t) if t == "stack lowered from "));
        assert!(matches!(&p.parts()[6], Part::Text(t) if t == " approach; 12.3 %)"));
    }

    #[test]
    fn a_nested_phrase_is_spliced_and_text_merged() {
        let dew = phrase!("water dew point {}", celsius(323.15, 1));
        let p = phrase!("max({} + {} margin)", dew, kelvin_difference(10.0, 0));
        assert_eq!(p.to_string(), "max(water dew point 50.0 °C + 10 K margin)");
        assert_eq!(p.parts().len(), 5);
        assert_eq!(p.quantities().count(), 2);
    }

    #[test]
    fn from_si_converts_with_the_units_table() {
        // 1 kPa = 1000 Pa and 1 kJ/kg = 1000 J/kg by the SI prefixes.
        let p = phrase!(
            "at {} ({})",
            Quantity::from_si(1.0e6, "kPa", Dimension::Pressure, 0),
            Quantity::from_si(2_778_100.0, "kJ/kg", Dimension::SpecificEnergy, 1)
        );
        assert_eq!(p.to_string(), "at 1000 kPa (2778.1 kJ/kg)");
        let wrong = Quantity::from_si(1.0, "kPa", Dimension::Power, 0);
        assert!(wrong.value.is_nan());
        let metered = Quantity::exact(180.25, "°C", Dimension::Temperature);
        assert_eq!(metered.to_string(), "180.25 °C");
        let price = Quantity::exact(8.5, "/GJ", Dimension::PerEnergy);
        assert_eq!(price.to_string(), "8.5 per GJ");
    }

    #[test]
    fn a_missing_argument_keeps_its_placeholder() {
        let p = Phrase::new("a {} b {}", [Arg::from("x")]);
        assert_eq!(p.to_string(), "a x b {}");
        assert_eq!(Phrase::from("plain").to_string(), "plain");
    }
}
