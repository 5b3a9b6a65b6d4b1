//! Spelling suggestions ("did you mean …?") for misspelt names: shared by the checker's
//! diagnostics and the host-data decoder's errors. A leaf: it knows no other module.

/// Suggests the candidate closest to `name` by edit distance, if it is close enough to be
/// a likely typo (Gleam's `did_you_mean`).
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Edit distance where an insertion, deletion, substitution or swap of two neighbouring
/// characters costs 1 (optimal string alignment), ignoring ASCII case.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    let at = |i: usize, j: usize| i * w + j;
    for i in 0..=a.len() {
        if let Some(x) = d.get_mut(at(i, 0)) {
            *x = i;
        }
    }
    for j in 0..=b.len() {
        if let Some(x) = d.get_mut(at(0, j)) {
            *x = j;
        }
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let get = |d: &Vec<usize>, i: usize, j: usize| d.get(at(i, j)).copied().unwrap_or(usize::MAX / 2);
            let (ca, cb) = (a.get(i - 1), b.get(j - 1));
            let cost = usize::from(ca != cb);
            let mut v = (get(&d, i - 1, j) + 1).min(get(&d, i, j - 1) + 1).min(get(&d, i - 1, j - 1) + cost);
            if i > 1 && j > 1 && ca == b.get(j - 2) && a.get(i - 2) == cb {
                v = v.min(get(&d, i - 2, j - 2) + 1);
            }
            if let Some(x) = d.get_mut(at(i, j)) {
                *x = v;
            }
        }
    }
    d.get(at(a.len(), b.len())).copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        let names = ["sensitivity", "destructive", "env"];
        assert_eq!(did_you_mean("sensitivty", names), Some("sensitivity"));
        assert_eq!(did_you_mean("Env", names), Some("env"));
        assert_eq!(did_you_mean("owner", names), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("Humna", "Human"), 1);
        assert_eq!(did_you_mean("Levle", ["Level", "Tool"]), Some("Level"));
        assert_eq!(did_you_mean("rsik", ["risk", "now"]), Some("risk"));
    }
}
