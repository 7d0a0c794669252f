//! add_workdays per second. Run: `cargo bench -p yiwang-calendar`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::civil::date;
use yiwang_calendar::{Calendar, Pause};

fn bench(c: &mut Criterion) {
    let cal = Calendar::bundled().unwrap_or_default();
    let mut g = c.benchmark_group("calendar");
    g.throughput(Throughput::Elements(1));
    g.bench_function("add_workdays_20", |b| b.iter(|| cal.add_workdays(black_box(date(2025, 9, 26)), black_box(20))));
    g.bench_function("add_workdays_250", |b| b.iter(|| cal.add_workdays(black_box(date(2025, 1, 2)), black_box(250))));
    let pause = [Pause { from: date(2025, 10, 10), until: date(2025, 10, 20) }];
    g.bench_function("add_workdays_20_paused", |b| b.iter(|| cal.add_workdays_paused(black_box(date(2025, 9, 26)), black_box(20), &pause)));
    g.bench_function("is_workday", |b| b.iter(|| cal.is_workday(black_box(date(2025, 9, 28)))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
