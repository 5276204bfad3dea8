use thermo::species::{self, Species};
use thermo::Temperature;
#[test] fn p() {
  let t0 = Temperature::from_celsius(25.0).unwrap();
  for c in [136.1f64, 358.3] {
    let t = Temperature::from_celsius(c).unwrap();
    let mut tot = 0.0;
    for (s,n) in [(Species::CO2,1.0),(Species::H2O,2.0),(Species::N2,7.52*1.095*0.9906),(Species::Ar,0.0096*7.52*1.095),(Species::O2,0.19)] {
       let dh = species::sensible_enthalpy_molar(s,t,t0).unwrap(); tot += n*dh;
       println!("{c} {:?} cp_mean {:.3}", s, dh/(c-25.0));
    }
    println!("{c}: sensible {:.1} kJ/mol CH4 -> {:.3} %; eff {:.2}", tot/1e3, tot/890.63e3*100.0, 100.0-(tot+88.0e3)/890.63e3*100.0);
  }
}
