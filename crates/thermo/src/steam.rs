//! Water and steam properties by IAPWS-IF97.
