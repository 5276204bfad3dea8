use std::collections::BTreeMap;
use server::aggregate::{self, Options, Period};
use server::demo::Demo;
use store::Series;
#[test]
fn perf() {
    let t0 = 1_761_955_200_000_000i64;
    let t = std::time::Instant::now();
    let d = Demo::new(t0, 86_400, 1).unwrap();
    eprintln!("demo day truth: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let r = d.readings().unwrap();
    eprintln!("demo day readings ({}): {:?}", r.len(), t.elapsed());
    let r: Vec<_> = r.into_iter().filter(|x| x.time_us < t0 + 3_600_000_000).collect();
    let mut by: BTreeMap<String, Series> = BTreeMap::new();
    for x in &r { let s = by.entry(x.tag.clone()).or_insert_with(|| Series { tag: x.tag.clone(), ..Default::default() }); s.times_us.push(x.time_us); s.values.push(x.value); s.qualities.push(x.quality); }
    let s: Vec<Series> = by.into_values().collect();
    let p = Period::new(t0, t0 + 3_600_000_000).unwrap();
    let mut best = f64::MAX;
    for _ in 0..50 {
        let t = std::time::Instant::now();
        let c = aggregate::calculate(d.spec(), &s, p, &Options::default()).unwrap();
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(c);
    }
    let mut scratch = Vec::new();
    let t = std::time::Instant::now();
    for _ in 0..100 { for x in &s { std::hint::black_box(aggregate::aggregate_series(&x.tag, aggregate::Columns{times_us:&x.times_us, values:&x.values, qualities:&x.qualities}, Default::default(), p, &Options::default(), &mut scratch).unwrap()); } }
    eprintln!("calculate 15 tags x 3600: best {:.3} ms; aggregation only {:.3} ms", best*1e3, t.elapsed().as_secs_f64()*10.0);
}
