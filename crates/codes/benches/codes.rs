//! Identifier validations per second. Run: `cargo bench -p yiwang-codes`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::civil::date;
use yiwang_codes::{CitizenId, ImplementationCode, LicenseId, Uscc, detect};

fn bench(c: &mut Criterion) {
    let today = date(2026, 11, 23);
    let mut g = c.benchmark_group("codes");
    g.throughput(Throughput::Elements(1));
    g.bench_function("citizen_id_valid", |b| b.iter(|| CitizenId::parse(black_box("11010519491231002X"), today)));
    g.bench_function("citizen_id_bad_check", |b| b.iter(|| CitizenId::parse(black_box("110105194912310021"), today)));
    g.bench_function("uscc_valid", |b| b.iter(|| Uscc::parse(black_box("91350100M000100Y43"))));
    g.bench_function("implementation_code", |b| b.iter(|| ImplementationCode::parse(black_box("11370800MB285591843370117002011"))));
    g.bench_function("license_id", |b| {
        b.iter(|| LicenseId::parse(black_box("1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F")))
    });
    g.bench_function("detect_citizen_id", |b| b.iter(|| detect(black_box("11010519491231002X"), today)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
