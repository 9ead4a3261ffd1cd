//! Robust statistics.
//!
//! Activity counts are sparse and heavy-tailed, so baselines use the median
//! and the median absolute deviation (MAD), never mean and standard
//! deviation: one busy day does not move them, and a quiet user's zeros do
//! not make every small number look extreme (the rules add absolute floors
//! on top).

/// Scales a MAD to estimate the standard deviation of normal data.
pub const MAD_SCALE: f64 = 1.4826;

/// Median of the values (sorted in place). `None` when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Median and robust standard deviation (MAD × 1.4826).
pub fn robust(values: &[f64]) -> Option<(f64, f64)> {
    let mut v = values.to_vec();
    let m = median(&mut v)?;
    let mut dev: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    let mad = median(&mut dev)?;
    Some((m, mad * MAD_SCALE))
}

/// Nearest-rank percentile (`p` in 0..=100) of the values (sorted in place).
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * values.len() as f64).ceil() as usize;
    Some(values[rank.clamp(1, values.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_mad_percentile() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&mut []), None);
        // One outlier moves neither the median nor the MAD.
        let (m, s) = robust(&[10.0, 11.0, 9.0, 10.0, 1000.0]).unwrap();
        assert_eq!(m, 10.0);
        assert!((s - MAD_SCALE).abs() < 1e-9);
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&mut v, 99.0), Some(99.0));
        assert_eq!(percentile(&mut v, 100.0), Some(100.0));
        assert_eq!(percentile(&mut [5.0], 99.0), Some(5.0));
    }
}
