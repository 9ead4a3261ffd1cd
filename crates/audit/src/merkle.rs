//! The Merkle tree of a log, exactly as RFC 6962 / RFC 9162 define it, so
//! that anyone can check mamori's proofs with any transparency-log tool.
//!
//! ```text
//! leaf  = SHA-256(0x00 ‖ event bytes)
//! node  = SHA-256(0x01 ‖ left ‖ right)
//! MTH({})     = SHA-256()
//! MTH(D[n])   = node(MTH(D[0:k]), MTH(D[k:n]))   k = largest power of two < n
//! ```
//!
//! Pure functions, no I/O. Proofs are built from a `subtree` function that
//! returns MTH of any range the RFC's recursion asks for: a test passes every
//! leaf, a store passes its saved nodes ([`Frontier`] says which nodes each
//! append completes, so every aligned power-of-two range is one lookup).

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ bytes).
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// RFC 6962 interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly less than `n` (n ≥ 2): where RFC 6962 splits.
pub fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH over a slice of leaf hashes (the reference definition; O(n)).
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Why a proof was not produced or did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is outside a tree of size {size}")]
    OutOfRange { index: u64, size: u64 },
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    #[error("the proof does not lead to the expected root")]
    Mismatch,
}

/// RFC 9162 §2.1.3.1 PATH(index, D[size]): the inclusion proof of leaf
/// `index`, with `subtree(start, end)` giving MTH(D[start:end]).
pub fn inclusion_proof<E>(
    index: u64,
    size: u64,
    subtree: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Result<Vec<Hash>, ProofError>, E> {
    if index >= size {
        return Ok(Err(ProofError::OutOfRange { index, size }));
    }
    let mut path = Vec::new();
    let (mut start, mut end, mut m) = (0, size, index);
    // Walk down from the root, collecting the sibling of each step; the RFC
    // lists them leaf first, so reverse at the end.
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            path.push(subtree(start + k, end)?);
            end = start + k;
        } else {
            path.push(subtree(start, start + k)?);
            start += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(Ok(path))
}

/// RFC 9162 §2.1.4.1 PROOF(first, D[second]): the consistency proof
/// between the tree of size `first` and the tree of size `second`.
pub fn consistency_proof<E>(
    first: u64,
    second: u64,
    subtree: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Result<Vec<Hash>, ProofError>, E> {
    if first > second {
        return Ok(Err(ProofError::OutOfRange {
            index: first,
            size: second,
        }));
    }
    let mut proof = Vec::new();
    if first == 0 || first == second {
        return Ok(Ok(proof));
    }
    // SUBPROOF(m, D[start:end], b), unrolled: the recursion only ever goes
    // down one side, so a loop with the collected hashes reversed suffices.
    let (mut start, mut end, mut m, mut whole) = (0, second, first, true);
    while m != end - start {
        let k = split(end - start);
        if m <= k {
            proof.push(subtree(start + k, end)?);
            end = start + k;
        } else {
            proof.push(subtree(start, start + k)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    if !whole {
        proof.push(subtree(start, end)?);
    }
    proof.reverse();
    Ok(Ok(proof))
}

/// RFC 9162 §2.1.3.2: does `proof` show leaf `index` (hash `leaf`) in the tree
/// of size `size` with root `root`?
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let (mut f, mut s, mut r) = (index, size - 1, *leaf);
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.4.2: is the tree of size `second` (root `second_root`) an
/// append-only extension of the tree of size `first` (root `first_root`)?
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::OutOfRange {
            index: first,
            size: second,
        });
    }
    if first == second || first == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        // RFC 9162 defines proofs only for 0 < first < second. The empty
        // tree is a prefix of every tree, but only the empty tree's root is
        // the root of size 0: any other "first root" is refused, as Go's
        // verifier refuses every proof from size 0.
        if first == 0 && (first_root != &empty_root() || second == 0 && second_root != first_root) {
            return Err(ProofError::Mismatch);
        }
        if first == second && first_root != second_root {
            return Err(ProofError::Mismatch);
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_root);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else {
        return Err(ProofError::WrongLength);
    };
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != first_root || &sr != second_root {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// The right edge of a growing tree: the roots of its perfect subtrees,
/// largest first (one per set bit of the size). Enough to append and to
/// compute the root in O(log n), and small enough to store with every commit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

/// A perfect subtree completed by an append: MTH(D[index·2^level : (index+1)·2^level]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Node {
    pub level: u32,
    pub index: u64,
    pub hash: Hash,
}

impl Frontier {
    /// Rebuilds a frontier from a stored size and nodes; None when they disagree.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (nodes.len() == size.count_ones() as usize).then_some(Self { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends a leaf; returns every perfect subtree the append completed,
    /// the leaf itself (level 0) first.
    pub fn push(&mut self, leaf: Hash) -> Vec<Node> {
        let mut done = vec![Node {
            level: 0,
            index: self.size,
            hash: leaf,
        }];
        let mut hash = leaf;
        let mut level = 0;
        // Each trailing 1-bit of the old size is a perfect subtree of the same
        // height as the one being carried: they merge, like binary addition.
        while (self.size >> level) & 1 == 1 {
            let left = self.nodes.pop().expect("one node per set bit");
            hash = node_hash(&left, &hash);
            level += 1;
            done.push(Node {
                level,
                index: self.size >> level,
                hash,
            });
        }
        self.nodes.push(hash);
        self.size += 1;
        done
    }

    /// MTH of the whole tree.
    pub fn root(&self) -> Hash {
        let mut it = self.nodes.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// MTH(D[start:end]) from perfect subtrees: an aligned power-of-two range is
/// one `node(level, index)` lookup; any other range splits as RFC 6962 does.
pub fn range_hash<E>(
    start: u64,
    end: u64,
    node: &mut impl FnMut(u32, u64) -> Result<Hash, E>,
) -> Result<Hash, E> {
    let n = end - start;
    if n == 0 {
        return Ok(empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        return node(n.trailing_zeros(), start / n);
    }
    let k = split(n);
    let left = range_hash(start, start + k, node)?;
    let right = range_hash(start + k, end, node)?;
    Ok(node_hash(&left, &right))
}

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, convert::Infallible};

    use super::*;

    fn h(s: &str) -> Hash {
        hex::decode(s).unwrap().try_into().unwrap()
    }

    /// The RFC 6962 reference data (certificate-transparency test vectors).
    fn reference_leaves() -> Vec<Hash> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|x| leaf_hash(&hex::decode(x).unwrap()))
        .collect()
    }

    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn over(leaves: &[Hash]) -> impl FnMut(u64, u64) -> Result<Hash, Infallible> + '_ {
        |a, b| Ok(root(&leaves[a as usize..b as usize]))
    }

    fn incl(leaves: &[Hash], i: u64, n: u64) -> Vec<Hash> {
        inclusion_proof(i, n, &mut over(leaves)).unwrap().unwrap()
    }

    fn cons(leaves: &[Hash], m: u64, n: u64) -> Vec<Hash> {
        consistency_proof(m, n, &mut over(leaves)).unwrap().unwrap()
    }

    #[test]
    fn roots_match_rfc_6962() {
        let leaves = reference_leaves();
        for (n, want) in ROOTS.iter().enumerate() {
            assert_eq!(hex::encode(root(&leaves[..n])), *want, "size {n}");
        }
    }

    #[test]
    fn proofs_match_the_reference_vectors() {
        let l = reference_leaves();
        let hs = |v: &[&str]| v.iter().map(|s| h(s)).collect::<Vec<_>>();
        let (a, b, c) = (
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        );
        assert_eq!(incl(&l, 0, 8), hs(&[a, b, c]));
        assert_eq!(
            incl(&l, 5, 8),
            hs(&[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ])
        );
        assert_eq!(cons(&l, 1, 8), hs(&[a, b, c]));
        assert_eq!(cons(&l, 2, 8), hs(&[b, c]));
        assert_eq!(
            cons(&l, 6, 8),
            hs(&[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ])
        );
        assert_eq!(
            cons(&l, 2, 5),
            hs(&[
                b,
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
            ])
        );
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// Every leaf of every tree up to 70 leaves proves its inclusion, and no
    /// wrong index, size, leaf, root or altered hash does.
    #[test]
    fn every_inclusion_proof_verifies_and_every_alteration_fails() {
        let all = leaves(70);
        for n in 1..=70u64 {
            let tree = &all[..n as usize];
            let r = root(tree);
            for i in 0..n {
                let p = incl(tree, i, n);
                let leaf = &tree[i as usize];
                assert_eq!(verify_inclusion(leaf, i, n, &p, &r), Ok(()), "{i} of {n}");
                if n > 1 {
                    let other = (i + 1) % n;
                    assert!(verify_inclusion(leaf, other, n, &p, &r).is_err());
                    assert!(verify_inclusion(&tree[other as usize], i, n, &p, &r).is_err());
                }
                // (A size is only meaningful with its own root: both come
                // from one signed checkpoint. Against the next tree's root,
                // this tree's proof fails.)
                if n < 70 {
                    let next = root(&all[..=n as usize]);
                    assert!(verify_inclusion(leaf, i, n + 1, &p, &next).is_err());
                }
                assert!(verify_inclusion(leaf, i, n, &p, &leaf_hash(b"other root")).is_err());
                for j in 0..p.len() {
                    let mut bad = p.clone();
                    bad[j][7] ^= 1;
                    assert!(verify_inclusion(leaf, i, n, &bad, &r).is_err());
                    let mut short = p.clone();
                    short.remove(j);
                    assert!(verify_inclusion(leaf, i, n, &short, &r).is_err());
                }
                let mut long = p.clone();
                long.push(r);
                assert!(verify_inclusion(leaf, i, n, &long, &r).is_err());
            }
            // An interior node is not a leaf: the bytes of the first pair
            // (left ‖ right), presented as an event at index 0 of a tree of
            // half the size, hash with the leaf prefix and prove nothing.
            if n >= 4 && n % 2 == 0 {
                let bytes = [tree[0], tree[1]].concat();
                let p = incl(tree, 0, n);
                assert!(verify_inclusion(&leaf_hash(&bytes), 0, n / 2, &p[1..], &r).is_err());
            }
        }
    }

    /// Every pair of sizes up to 50 has a consistency proof that verifies, and
    /// it fails for any other root, any altered hash, any other pair of sizes.
    #[test]
    fn every_consistency_proof_verifies_and_every_alteration_fails() {
        let all = leaves(50);
        for n in 0..=50u64 {
            let rn = root(&all[..n as usize]);
            for m in 0..=n {
                let rm = root(&all[..m as usize]);
                let p = cons(&all, m, n);
                assert_eq!(verify_consistency(m, n, &rm, &rn, &p), Ok(()), "{m}→{n}");
                let forged = leaf_hash(b"forged");
                if m == 0 {
                    // From size 0 only the empty tree's root is accepted.
                    assert!(verify_consistency(0, n, &forged, &rn, &p).is_err(), "0→{n}");
                    assert!(verify_consistency(0, n, &rn, &rn, &p).is_err() || n == 0);
                    continue;
                }
                assert!(verify_consistency(m, n, &forged, &rn, &p).is_err());
                assert!(verify_consistency(m, n, &rm, &forged, &p).is_err());
                for j in 0..p.len() {
                    let mut bad = p.clone();
                    bad[j][0] ^= 0x80;
                    assert!(verify_consistency(m, n, &rm, &rn, &bad).is_err());
                }
                if m < n {
                    assert!(verify_consistency(m, n, &rm, &rn, &[]).is_err());
                    assert!(verify_consistency(m + 1, n, &rm, &rn, &p).is_err() || m + 1 == n);
                    // A rewritten history: the same size, another leaf inside.
                    let mut other = all[..n as usize].to_vec();
                    other[(m - 1) as usize] = forged;
                    assert!(verify_consistency(m, n, &rm, &root(&other), &p).is_err());
                }
            }
        }
    }

    /// The frontier gives the same root as the reference definition at every
    /// size, and the nodes it reports completed answer every range query.
    #[test]
    fn frontier_roots_and_stored_nodes_agree_with_the_definition() {
        let all = leaves(130);
        let mut f = Frontier::default();
        let mut stored: HashMap<(u32, u64), Hash> = HashMap::new();
        assert_eq!(f.root(), empty_root());
        for (i, leaf) in all.iter().enumerate() {
            for node in f.push(*leaf) {
                assert!(stored.insert((node.level, node.index), node.hash).is_none());
            }
            let n = i as u64 + 1;
            assert_eq!(f.root(), root(&all[..=i]), "size {n}");
            assert_eq!(f.size(), n);
            let again = Frontier::from_parts(n, f.nodes().to_vec()).unwrap();
            assert_eq!(again.root(), f.root());
        }
        assert!(Frontier::from_parts(5, vec![empty_root()]).is_none());
        let mut lookup =
            |level: u32, index: u64| -> Result<Hash, Infallible> { Ok(stored[&(level, index)]) };
        for a in 0..130u64 {
            for b in (a + 1)..=130 {
                assert_eq!(
                    range_hash(a, b, &mut lookup).unwrap(),
                    root(&all[a as usize..b as usize])
                );
            }
        }
    }

    #[test]
    fn splits_where_rfc_6962_splits() {
        for (n, k) in [(2, 1), (3, 2), (4, 2), (5, 4), (8, 4), (9, 8), (1000, 512)] {
            assert_eq!(split(n), k, "{n}");
        }
        assert_eq!(split((1 << 63) + 1), 1 << 63);
    }

    /// Vectors computed by transparency-dev/merkle (Go) over the RFC 6962
    /// test tree, kept as data in `tests/data/transparency-dev-merkle`.
    mod third_party_vectors {
        use base64::{Engine, engine::general_purpose::STANDARD as B64};
        use serde_json::Value;

        use super::*;

        const INCLUSION: [&str; 5] = [
            include_str!("../tests/data/transparency-dev-merkle/inclusion/0.json"),
            include_str!("../tests/data/transparency-dev-merkle/inclusion/1.json"),
            include_str!("../tests/data/transparency-dev-merkle/inclusion/2.json"),
            include_str!("../tests/data/transparency-dev-merkle/inclusion/3.json"),
            include_str!("../tests/data/transparency-dev-merkle/inclusion/4.json"),
        ];
        const CONSISTENCY: [&str; 5] = [
            include_str!("../tests/data/transparency-dev-merkle/consistency/0.json"),
            include_str!("../tests/data/transparency-dev-merkle/consistency/1.json"),
            include_str!("../tests/data/transparency-dev-merkle/consistency/2.json"),
            include_str!("../tests/data/transparency-dev-merkle/consistency/3.json"),
            include_str!("../tests/data/transparency-dev-merkle/consistency/4.json"),
        ];

        fn hash(v: &Value) -> Hash {
            let raw = B64.decode(v.as_str().unwrap()).unwrap();
            raw.try_into().unwrap()
        }

        fn proof(v: &Value) -> Vec<Hash> {
            v.as_array()
                .map_or(Vec::new(), |a| a.iter().map(hash).collect())
        }

        fn flipped(mut h: Hash, bit: u8) -> Hash {
            h[0] ^= 1 << bit;
            h
        }

        /// Every way the Go module's generator alters a proof: each hash
        /// with a bit flipped, each removed, garbage inserted anywhere
        /// (before and after included), `extra` placed before and after.
        fn altered_proofs(p: &[Hash], bit: u8, extra: &[Hash]) -> Vec<(String, Vec<Hash>)> {
            let garbage = leaf_hash(b"garbage");
            let mut out = Vec::new();
            for j in 0..p.len() {
                let mut q = p.to_vec();
                q[j] = flipped(q[j], bit);
                out.push((format!("proof[{j}] bit {bit} flipped"), q));
                let mut q = p.to_vec();
                q.remove(j);
                out.push((format!("proof[{j}] removed"), q));
            }
            for j in 0..=p.len() {
                let mut q = p.to_vec();
                q.insert(j, garbage);
                out.push((format!("garbage inserted at {j}"), q));
            }
            for (k, e) in extra.iter().enumerate() {
                out.push((format!("extra {k} before"), [&[*e], p].concat()));
                out.push((format!("extra {k} after"), [p, &[*e]].concat()));
            }
            out
        }

        #[test]
        fn inclusion_vectors_verify_match_ours_and_every_alteration_fails() {
            let leaves = reference_leaves();
            let garbage = leaf_hash(b"garbage");
            let mut refused = 0;
            for src in INCLUSION {
                let v: Value = serde_json::from_str(src).unwrap();
                let i = v["leafIdx"].as_u64().unwrap();
                let n = v["treeSize"].as_u64().unwrap();
                let (leaf, root, p) = (hash(&v["leafHash"]), hash(&v["root"]), proof(&v["proof"]));
                assert_eq!(
                    verify_inclusion(&leaf, i, n, &p, &root),
                    Ok(()),
                    "{i} in {n}"
                );
                assert_eq!(leaf, leaves[i as usize]);
                assert_eq!(root, super::root(&leaves[..n as usize]));
                assert_eq!(incl(&leaves, i, n), p, "mamori's proof of {i} in {n}");
                let mut cases: Vec<(String, Hash, u64, u64, Vec<Hash>, Hash)> = vec![
                    ("wrong leaf".into(), garbage, i, n, p.clone(), root),
                    ("index + 1".into(), leaf, i + 1, n, p.clone(), root),
                    ("index ^ 2".into(), leaf, i ^ 2, n, p.clone(), root),
                    ("size * 2".into(), leaf, i, n * 2, p.clone(), root),
                    ("size / 2".into(), leaf, i, n / 2, p.clone(), root),
                    ("empty root".into(), leaf, i, n, p.clone(), empty_root()),
                    ("random root".into(), leaf, i, n, p.clone(), garbage),
                ];
                if i > 0 {
                    cases.push(("index - 1".into(), leaf, i - 1, n, p.clone(), root));
                }
                for (name, q) in altered_proofs(&p, 3, &[root]) {
                    cases.push((name, leaf, i, n, q, root));
                }
                for (name, l, ci, cn, q, r) in cases {
                    assert!(
                        verify_inclusion(&l, ci, cn, &q, &r).is_err(),
                        "{i} in {n}, {name}: accepted"
                    );
                    refused += 1;
                }
            }
            assert!(refused >= 80, "{refused}");
        }

        #[test]
        fn consistency_vectors_verify_match_ours_and_every_alteration_fails() {
            let leaves = reference_leaves();
            let garbage = leaf_hash(b"garbage");
            let mut refused = 0;
            for src in CONSISTENCY {
                let v: Value = serde_json::from_str(src).unwrap();
                let m = v["size1"].as_u64().unwrap();
                let n = v["size2"].as_u64().unwrap();
                let (r1, r2, p) = (hash(&v["root1"]), hash(&v["root2"]), proof(&v["proof"]));
                assert_eq!(verify_consistency(m, n, &r1, &r2, &p), Ok(()), "{m}→{n}");
                assert_eq!(r1, super::root(&leaves[..m as usize]));
                assert_eq!(r2, super::root(&leaves[..n as usize]));
                assert_eq!(cons(&leaves, m, n), p, "mamori's proof {m}→{n}");
                let mut cases: Vec<(String, u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                    ("size1 + 1".into(), m + 1, n, r1, r2, p.clone()),
                    ("size1 - 1".into(), m - 1, n, r1, r2, p.clone()),
                    ("size1 ^ 2".into(), m ^ 2, n, r1, r2, p.clone()),
                    ("size2 * 2".into(), m, n * 2, r1, r2, p.clone()),
                    ("size2 / 2".into(), m, n / 2, r1, r2, p.clone()),
                    ("wrong root1".into(), m, n, garbage, r2, p.clone()),
                    ("wrong root2".into(), m, n, r1, garbage, p.clone()),
                    ("root1 bit".into(), m, n, flipped(r1, 4), r2, p.clone()),
                ];
                if r1 != r2 {
                    cases.push(("swapped roots".into(), m, n, r2, r1, p.clone()));
                }
                if let Some((_, head)) = p.split_last() {
                    cases.push(("empty proof".into(), m, n, r1, r2, Vec::new()));
                    cases.push(("truncated proof".into(), m, n, r1, r2, head.to_vec()));
                    cases.push((
                        "proof[0] again before".into(),
                        m,
                        n,
                        r1,
                        r2,
                        [&p[..1], &p].concat(),
                    ));
                }
                for (name, q) in altered_proofs(&p, 4, &[r1, r2]) {
                    cases.push((name, m, n, r1, r2, q));
                }
                for (name, a, b, x, y, q) in cases {
                    assert!(
                        verify_consistency(a, b, &x, &y, &q).is_err(),
                        "{m}→{n}, {name}: accepted"
                    );
                    refused += 1;
                }
            }
            assert!(refused >= 100, "{refused}");
        }
    }
}
