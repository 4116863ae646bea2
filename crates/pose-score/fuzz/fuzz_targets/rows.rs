//! Any bytes as a keypoint CSV (36 / 51 / 99 columns), then every row through both scores, the
//! live window and the alignment: errors are fine, panics and hangs are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pose_score::{
    AlignConfig, DancerTrack, KeypointTable, Mirror, Pose, ROW_WIDTHS, Scorer, ScorerConfig, CosineMatcher,
    TableLimits,
};

fuzz_target!(|data: &[u8]| {
    let limits = TableLimits { max_rows: 64, max_line_bytes: 4096 };
    let Ok(table) = KeypointTable::read_csv(data, &ROW_WIDTHS, limits) else { return };
    let mut out = Vec::new();
    table.write_csv(&mut out).expect("writing to memory");
    let back = KeypointTable::read_csv(out.as_slice(), &ROW_WIDTHS, TableLimits::default()).expect("own output reads");
    assert_eq!(back, table);
    if table.columns() == 36 {
        let seed = CosineMatcher::new(&table).expect("checked rows");
        for row in table.rows() {
            let fast = seed.score(row).expect("36 values");
            assert_eq!(fast, seed.score_reference(row).expect("36 values"));
        }
    }
    let scorer = Scorer::new(ScorerConfig { mirror: Mirror::Either, ..ScorerConfig::default() }).expect("valid");
    let track = DancerTrack::from_table(&scorer, &table, 30.0).expect("checked rows");
    let mut user = Vec::new();
    for (i, row) in table.rows().enumerate() {
        let f = scorer.features(&Pose::from_row(row).expect("known width"));
        if let Ok(m) = scorer.score_at(&f, &track, i as f32 / 30.0) {
            assert!((0.0..=1.0).contains(&m.score.overall), "{m:?}");
        }
        user.push(f);
    }
    let _ = scorer.align(&user, &track, &AlignConfig::default());
});
