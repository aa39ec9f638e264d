//! Graph learning with graph convolutions (`gcn_conv`, `graph_mean_pool`:
//! [`crate::dynamic::layers::gcn_conv`]) on Zachary's karate club (`host/data/karate_*.csv`,
//! provenance in `host/data/README.md`): 34 members, 78 friendships, and the faction each
//! member joined when the club split (0: Mr. Hi's, 1: the Officer's).
//!
//! - Node classification ([`train_nodes`]), as Kipf & Welling (2017): the features are the
//!   identity (a one-hot node id per node, one sample `[N, N]`), a two-layer GCN
//!   (`gcn_conv(16),relu,gcn_conv(2)`, output `[N, 2]` logits per node), semi-supervised:
//!   cross-entropy over the few labelled nodes only (by default the two leaders, 0 and 33),
//!   Adam, full graph each step; accuracy on the unlabelled nodes and on all nodes.
//! - A graph-level task ([`train_readout`]): classify graph signals, not nodes. A sample
//!   marks [`ReadoutConfig::signal`] nodes drawn from one faction and
//!   [`ReadoutConfig::noise`] nodes drawn from the rest of the club (either faction); its
//!   features are the one-hot ids of the marked nodes (row `j` of the `[N, N]` input is
//!   `e_j` if node `j` is marked, else zero) and its label is the faction the signal was
//!   drawn from (always the marked nodes' majority). The model ends in a readout:
//!   `gcn_conv(16),relu,gcn_conv(16),relu,graph_mean_pool,dense(2)`, trained with
//!   [`DynTrainer`] on minibatches; accuracy on held-out samples drawn from the same
//!   generator with another seed (chance is 50%: the factions are drawn with equal
//!   probability).
//!
//! `cargo run --release -p neurite-host --example graph_karate` runs both and draws the
//! club coloured by the predicted faction.

use crate::dynamic::backend::DEFAULT;
use crate::dynamic::layers::gcn_conv::set_adjacency;
use crate::dynamic::op::Ctx;
use crate::dynamic::{DynModel, DynOptimizer, DynTrainer, Workspace};
use neurite::init::LayerInit;
use neurite::kernel::reduce::argmax;
use neurite::loss::{CrossEntropy, Loss, Reduction, Target};
use neurite::optim::AdamConfig;
use neurite::rng::Rng;
use plotters::prelude::*;
use std::path::Path;

/// `host/data/karate_edges.csv` (`source,target`, 78 rows), compiled in.
pub const KARATE_EDGES_CSV: &str = include_str!("../data/karate_edges.csv");
/// `host/data/karate_nodes.csv` (`node,club,label`, 34 rows), compiled in.
pub const KARATE_NODES_CSV: &str = include_str!("../data/karate_nodes.csv");

/// An undirected graph with a class per node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    /// Number of nodes.
    pub nodes: usize,
    /// Each edge once, `(a, b)` with `a < b`.
    pub edges: Vec<(usize, usize)>,
    /// The class of each node.
    pub labels: Vec<usize>,
    /// The name of each class (`class_names[labels[v]]`).
    pub class_names: Vec<String>,
}

impl Graph {
    /// Zachary's karate club from the shipped CSVs.
    pub fn karate() -> Result<Self, String> {
        Self::parse(KARATE_EDGES_CSV, KARATE_NODES_CSV)
    }

    /// Parses an edge list (`source,target` header, one undirected edge per row) and a node
    /// table (`node,club,label` header, nodes `0..N` in order, `label` the class index,
    /// `club` its name). `Err` names the bad line: an unknown node, a self loop, a repeated
    /// edge, a class index without a consistent name.
    pub fn parse(edges_csv: &str, nodes_csv: &str) -> Result<Self, String> {
        let mut labels = Vec::new();
        let mut class_names: Vec<String> = Vec::new();
        let mut lines = nodes_csv.lines();
        let rows = nodes_csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        if lines.next().map(str::trim) != Some("node,club,label") {
            return Err("nodes: the header must be node,club,label".into());
        }
        for (k, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let f: Vec<&str> = line.trim().split(',').collect();
            let bad = || format!("nodes line {}: '{line}'", k + 2);
            let [node, club, label] = f[..] else { return Err(bad()) };
            let node: usize = node.parse().map_err(|_| bad())?;
            let label: usize = label.parse().map_err(|_| bad())?;
            if node != labels.len() {
                return Err(format!("{}: nodes must be listed 0, 1, 2, ...", bad()));
            }
            // every class has a member, so a class index is below the number of nodes: refuse
            // one that would size the class table past the file
            if label >= rows {
                return Err(format!("{}: class {label}, but the file has {rows} nodes", bad()));
            }
            if label >= class_names.len() {
                class_names.resize(label + 1, String::new());
            }
            if class_names[label].is_empty() {
                class_names[label] = club.to_string();
            } else if class_names[label] != club {
                return Err(format!("{}: class {label} is also '{}'", bad(), class_names[label]));
            }
            labels.push(label);
        }
        let nodes = labels.len();
        let mut edges = Vec::new();
        let mut lines = edges_csv.lines();
        if lines.next().map(str::trim) != Some("source,target") {
            return Err("edges: the header must be source,target".into());
        }
        for (k, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let bad = || format!("edges line {}: '{line}'", k + 2);
            let (a, b) = line.trim().split_once(',').ok_or_else(bad)?;
            let (a, b): (usize, usize) =
                (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
            if a >= nodes || b >= nodes || a == b {
                return Err(format!("{}: needs two different nodes below {nodes}", bad()));
            }
            let e = (a.min(b), a.max(b));
            if edges.contains(&e) {
                return Err(format!("{}: repeated edge", bad()));
            }
            edges.push(e);
        }
        Ok(Self { nodes, edges, labels, class_names })
    }

    /// The symmetric 0/1 adjacency, `N x N` row-major (no self loops: `gcn_conv` adds them).
    pub fn adjacency(&self) -> Vec<f32> {
        let n = self.nodes;
        let mut a = vec![0.0; n * n];
        for &(i, j) in &self.edges {
            a[i * n + j] = 1.0;
            a[j * n + i] = 1.0;
        }
        a
    }

    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }
}

/// Builds `spec` for samples `[N, features]` of `graph` and gives every `gcn_conv` layer
/// the graph.
pub fn build_graph_model(spec: &str, graph: &Graph, features: usize) -> Result<DynModel, String> {
    let mut model = DynModel::from_spec(spec, &[graph.nodes, features])?;
    if set_adjacency(&mut model, &graph.adjacency())? == 0 {
        return Err(format!("'{spec}' has no gcn_conv layer"));
    }
    Ok(model)
}

/// The identity features of `n` nodes: `[n, n]`, row `j` the one-hot id of node `j`.
pub fn identity_features(n: usize) -> Vec<f32> {
    let mut x = vec![0.0; n * n];
    for j in 0..n {
        x[j * n + j] = 1.0;
    }
    x
}

/// Node classification plan.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeConfig {
    /// Layers (input `[N, N]` identity features, output `[N, classes]` logits).
    pub spec: String,
    /// The labelled nodes the loss sees.
    pub train_nodes: Vec<usize>,
    /// Full-graph Adam steps.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Seed of the initialisation (Glorot-uniform weights, zero biases, as PyG's `GCNConv`).
    pub seed: u64,
}

/// The default node classifier.
pub const NODE_SPEC: &str = "gcn_conv(16),relu,gcn_conv(2)";

impl Default for NodeConfig {
    fn default() -> Self {
        Self { spec: NODE_SPEC.into(), train_nodes: vec![0, 33], steps: 200, lr: 0.01, seed: 1 }
    }
}

/// What [`train_nodes`] measured.
#[derive(Clone, Debug)]
pub struct NodeReport {
    /// Mean cross-entropy over the labelled nodes before each step.
    pub losses: Vec<f32>,
    /// The predicted class of every node after training.
    pub predictions: Vec<usize>,
    /// Accuracy over the nodes not in [`NodeConfig::train_nodes`], after training.
    pub accuracy_unlabelled: f32,
    /// Accuracy over all nodes, after training.
    pub accuracy_all: f32,
    /// Accuracy over the unlabelled nodes of the initialised, untrained model.
    pub untrained_unlabelled: f32,
    /// The trained model.
    pub model: DynModel,
}

/// `(accuracy over the nodes not in train, accuracy over all)` of the predictions.
fn node_accuracy(pred: &[usize], labels: &[usize], train: &[usize]) -> (f32, f32) {
    let (mut hit, mut count, mut all) = (0usize, 0usize, 0usize);
    for (v, (&p, &l)) in pred.iter().zip(labels).enumerate() {
        all += usize::from(p == l);
        if !train.contains(&v) {
            count += 1;
            hit += usize::from(p == l);
        }
    }
    (hit as f32 / count.max(1) as f32, all as f32 / labels.len().max(1) as f32)
}

/// The argmax class of each node's row of `out` (`classes` logits per node).
fn node_classes(out: &[f32], classes: usize) -> Vec<usize> {
    out.chunks(classes).map(argmax).collect()
}

/// Semi-supervised node classification of `graph` (module documentation): each step runs
/// the whole graph forward ([`DynModel::forward_train`], one sample), evaluates the
/// cross-entropy of each labelled node's logits ([`CrossEntropy`], one node at a time, in
/// the order of [`NodeConfig::train_nodes`]), averages over them, runs
/// [`DynModel::backward`] and one Adam step.
pub fn train_nodes(cfg: &NodeConfig, graph: &Graph) -> Result<NodeReport, String> {
    let n = graph.nodes;
    let classes = graph.classes();
    if cfg.train_nodes.is_empty() || cfg.train_nodes.iter().any(|&v| v >= n) {
        return Err(format!("train_nodes must be nodes below {n}: {:?}", cfg.train_nodes));
    }
    let mut model = build_graph_model(&cfg.spec, graph, n)?;
    if model.output_shape() != [n, classes] {
        return Err(format!(
            "the model's output is {:?}, node classification needs [{n}, {classes}]",
            model.output_shape()
        ));
    }
    let mut rng = Rng::new(cfg.seed);
    model.init(&LayerInit::XAVIER, &mut rng);
    let x = identity_features(n);
    let untrained = node_classes(&model.forward(&x), classes);
    let (untrained_unlabelled, _) = node_accuracy(&untrained, &graph.labels, &cfg.train_nodes);

    let mut opt = DynOptimizer::Adam(AdamConfig::adam(cfg.lr), false)
        .build_for(&model)
        .map_err(|e| e.to_string())?;
    let loss = CrossEntropy::default();
    let mut ws = Workspace::default();
    let mut grads = model.zero_grads();
    let mut dout = vec![0.0; n * classes];
    let mut losses = Vec::with_capacity(cfg.steps);
    let scale = 1.0 / cfg.train_nodes.len() as f32;
    for _ in 0..cfg.steps {
        let mut ctx = Ctx { train: true, rng: None, backend: &DEFAULT };
        let out = model.forward_train(&mut ctx, &x, 1, &mut ws).map_err(|e| e.to_string())?;
        dout.fill(0.0);
        let mut total = 0.0;
        for &v in &cfg.train_nodes {
            let rows = v * classes..(v + 1) * classes;
            total += loss.eval(
                &out[rows.clone()],
                Target::Class(graph.labels[v]),
                &mut dout[rows],
                None,
            );
        }
        if !total.is_finite() {
            return Err(format!("training diverged at step {}", losses.len() + 1));
        }
        losses.push(total * scale);
        dout.iter_mut().for_each(|d| *d *= scale);
        grads.iter_mut().for_each(|g| g.fill(0.0));
        model.backward(&ctx, &mut ws, &dout, &mut grads, false);
        opt.step(&mut model.tensors_mut(), &grads);
    }
    let predictions = node_classes(&model.forward(&x), classes);
    let (accuracy_unlabelled, accuracy_all) =
        node_accuracy(&predictions, &graph.labels, &cfg.train_nodes);
    Ok(NodeReport {
        losses,
        predictions,
        accuracy_unlabelled,
        accuracy_all,
        untrained_unlabelled,
        model,
    })
}

/// Graph-level readout plan (module documentation).
#[derive(Clone, Debug, PartialEq)]
pub struct ReadoutConfig {
    /// Layers (input `[N, N]`, output `classes` logits for the whole graph).
    pub spec: String,
    /// Marked nodes drawn from the sample's faction.
    pub signal: usize,
    /// Marked nodes drawn from all the other nodes (either faction).
    pub noise: usize,
    /// Training samples.
    pub train_samples: usize,
    /// Held-out samples.
    pub test_samples: usize,
    /// Passes over the training samples.
    pub epochs: usize,
    /// Minibatch size.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f32,
    /// Seed of the training samples, the initialisation and the shuffling (the held-out
    /// samples use `seed + 1_000_000`).
    pub seed: u64,
}

/// The default graph-level classifier.
pub const READOUT_SPEC: &str = "gcn_conv(16),relu,gcn_conv(16),relu,graph_mean_pool,dense(2)";

impl Default for ReadoutConfig {
    fn default() -> Self {
        Self {
            spec: READOUT_SPEC.into(),
            signal: 3,
            noise: 2,
            train_samples: 1000,
            test_samples: 1000,
            epochs: 30,
            batch: 16,
            lr: 0.01,
            seed: 1,
        }
    }
}

/// Graph signals for the readout task: `count` samples `([N, N] features, faction)`, the
/// factions drawn with equal probability (module documentation).
pub fn readout_samples(
    graph: &Graph,
    signal: usize,
    noise: usize,
    count: usize,
    rng: &mut Rng,
) -> Result<Vec<(Vec<f32>, usize)>, String> {
    let n = graph.nodes;
    let classes = graph.classes();
    let members: Vec<Vec<usize>> =
        (0..classes).map(|c| (0..n).filter(|&v| graph.labels[v] == c).collect()).collect();
    if members.iter().any(|m| m.len() < signal) || signal <= noise || signal + noise > n {
        return Err(format!(
            "need signal > noise, at most {} signal nodes per faction and {n} in all",
            members.iter().map(Vec::len).min().unwrap_or(0)
        ));
    }
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let class = rng.below(classes);
        let mut pool = members[class].clone();
        rng.shuffle(&mut pool);
        let mut marked: Vec<usize> = pool[..signal].to_vec();
        let mut rest: Vec<usize> = (0..n).filter(|v| !marked.contains(v)).collect();
        rng.shuffle(&mut rest);
        marked.extend_from_slice(&rest[..noise]);
        let mut x = vec![0.0; n * n];
        for &v in &marked {
            x[v * n + v] = 1.0;
        }
        out.push((x, class));
    }
    Ok(out)
}

/// What [`train_readout`] measured.
#[derive(Clone, Debug)]
pub struct ReadoutReport {
    /// Mean batch cross-entropy of each epoch.
    pub train_loss: Vec<f32>,
    /// Accuracy on the held-out samples after training.
    pub test_accuracy: f32,
    /// Accuracy on the held-out samples of the initialised, untrained model.
    pub untrained_accuracy: f32,
    /// Accuracy on the training samples after training.
    pub train_accuracy: f32,
    /// The trained model.
    pub model: DynModel,
}

fn accuracy(model: &DynModel, samples: &[(Vec<f32>, usize)]) -> f32 {
    let mut ws = Workspace::default();
    let hits = samples
        .iter()
        .filter(|(x, c)| argmax(model.forward_batch(&DEFAULT, x, 1, &mut ws)) == *c)
        .count();
    hits as f32 / samples.len().max(1) as f32
}

/// The graph-level task (module documentation): [`DynTrainer::epoch`] over shuffled
/// minibatches, cross-entropy (mean), Adam.
pub fn train_readout(cfg: &ReadoutConfig, graph: &Graph) -> Result<ReadoutReport, String> {
    if cfg.epochs == 0 || cfg.batch == 0 || cfg.train_samples == 0 || cfg.test_samples == 0 {
        return Err("epochs, batch and the sample counts must be positive".into());
    }
    let n = graph.nodes;
    let mut model = build_graph_model(&cfg.spec, graph, n)?;
    if model.outputs() != graph.classes() {
        return Err(format!("the model must output {} logits", graph.classes()));
    }
    let mut rng = Rng::new(cfg.seed);
    let train = readout_samples(graph, cfg.signal, cfg.noise, cfg.train_samples, &mut rng)?;
    let mut test_rng = Rng::new(cfg.seed.wrapping_add(1_000_000));
    let test = readout_samples(graph, cfg.signal, cfg.noise, cfg.test_samples, &mut test_rng)?;
    model.init(&LayerInit::XAVIER, &mut rng);
    let untrained_accuracy = accuracy(&model, &test);

    let mut opt = DynOptimizer::Adam(AdamConfig::adam(cfg.lr), false)
        .build_for(&model)
        .map_err(|e| e.to_string())?;
    let mut trainer = DynTrainer::new(&model);
    let xs: Vec<&[f32]> = train.iter().map(|(x, _)| x.as_slice()).collect();
    let ts: Vec<Target<'_>> = train.iter().map(|&(_, c)| Target::Class(c)).collect();
    let loss = CrossEntropy::default();
    let mut train_loss = Vec::with_capacity(cfg.epochs);
    for epoch in 1..=cfg.epochs {
        let l = trainer
            .epoch(
                &mut model,
                &mut opt,
                &loss,
                Reduction::Mean,
                &xs,
                &ts,
                cfg.batch,
                Some(&mut rng),
                |_, _| {},
            )
            .map_err(|e| format!("epoch {epoch}: {e}"))?;
        train_loss.push(l);
    }
    Ok(ReadoutReport {
        train_loss,
        test_accuracy: accuracy(&model, &test),
        untrained_accuracy,
        train_accuracy: accuracy(&model, &train),
        model,
    })
}

/// Node positions in `[0, 1]^2` by Fruchterman & Reingold's spring layout (attraction
/// `d^2 / k` along edges, repulsion `k^2 / d` between all pairs, `k = sqrt(1 / N)`, the
/// step capped by a temperature cooling linearly from 0.1), `iterations` rounds from
/// seeded random positions, then scaled to fill the square.
pub fn spring_layout(graph: &Graph, iterations: usize, seed: u64) -> Vec<(f64, f64)> {
    let n = graph.nodes;
    let mut rng = Rng::new(seed);
    let mut pos: Vec<(f64, f64)> =
        (0..n).map(|_| (f64::from(rng.uniform()), f64::from(rng.uniform()))).collect();
    let k = (1.0 / n.max(1) as f64).sqrt();
    for it in 0..iterations {
        let temp = 0.1 * (1.0 - it as f64 / iterations as f64);
        let mut disp = vec![(0.0f64, 0.0f64); n];
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    let (dx, dy) = (pos[i].0 - pos[j].0, pos[i].1 - pos[j].1);
                    let d = (dx * dx + dy * dy).sqrt().max(1e-6);
                    let f = k * k / d;
                    disp[i].0 += dx / d * f;
                    disp[i].1 += dy / d * f;
                }
            }
        }
        for &(i, j) in &graph.edges {
            let (dx, dy) = (pos[i].0 - pos[j].0, pos[i].1 - pos[j].1);
            let d = (dx * dx + dy * dy).sqrt().max(1e-6);
            let f = d * d / k;
            disp[i].0 -= dx / d * f;
            disp[i].1 -= dy / d * f;
            disp[j].0 += dx / d * f;
            disp[j].1 += dy / d * f;
        }
        for (p, d) in pos.iter_mut().zip(&disp) {
            let len = (d.0 * d.0 + d.1 * d.1).sqrt().max(1e-12);
            let step = len.min(temp);
            p.0 += d.0 / len * step;
            p.1 += d.1 / len * step;
        }
    }
    let (mut lo, mut hi) = ((f64::MAX, f64::MAX), (f64::MIN, f64::MIN));
    for p in &pos {
        lo = (lo.0.min(p.0), lo.1.min(p.1));
        hi = (hi.0.max(p.0), hi.1.max(p.1));
    }
    let span = ((hi.0 - lo.0).max(1e-12), (hi.1 - lo.1).max(1e-12));
    pos.iter().map(|p| ((p.0 - lo.0) / span.0, (p.1 - lo.1) / span.1)).collect()
}

/// Class colours: Mr. Hi's faction blue, the Officer's orange.
const CLASS_COLORS: [RGBColor; 2] = [RGBColor(31, 119, 180), RGBColor(255, 127, 14)];

/// Writes a PNG of `graph` at `positions` (`[0, 1]^2`): edges in grey, each node filled
/// with the colour of its predicted class and ringed with the colour of its true class
/// (a misclassified node has two colours), the labelled `train_nodes` drawn larger with a
/// black outline, node ids written beside the nodes, `title` on top.
pub fn write_graph_png(
    path: &Path,
    graph: &Graph,
    positions: &[(f64, f64)],
    predictions: &[usize],
    train_nodes: &[usize],
    title: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    if positions.len() != graph.nodes || predictions.len() != graph.nodes {
        return Err("need a position and a prediction per node".into());
    }
    crate::plot::register_font();
    let (w, h) = (900u32, 860u32);
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    root.fill(&WHITE)?;
    root.draw(&Text::new(title.to_string(), (20, 15), ("sans-serif", 22).into_font()))?;
    let (margin, top) = (50.0, 70.0);
    let at = |p: (f64, f64)| {
        (
            (margin + p.0 * (f64::from(w) - 2.0 * margin)) as i32,
            (top + p.1 * (f64::from(h) - top - margin)) as i32,
        )
    };
    for &(i, j) in &graph.edges {
        root.draw(&PathElement::new(
            vec![at(positions[i]), at(positions[j])],
            RGBColor(180, 180, 180).stroke_width(1),
        ))?;
    }
    let color = |c: usize| CLASS_COLORS.get(c).copied().unwrap_or(BLACK);
    for v in 0..graph.nodes {
        let c = at(positions[v]);
        let labelled = train_nodes.contains(&v);
        let r = if labelled { 15 } else { 11 };
        if labelled {
            root.draw(&Circle::new(c, r + 3, BLACK.filled()))?;
        }
        root.draw(&Circle::new(c, r, color(graph.labels[v]).filled()))?;
        root.draw(&Circle::new(c, r - 4, color(predictions[v]).filled()))?;
        root.draw(&Text::new(
            v.to_string(),
            (c.0 + r + 2, c.1 - r),
            ("sans-serif", 14).into_font(),
        ))?;
    }
    let legend = [
        (CLASS_COLORS[0], format!("{} (0)", graph.class_names.first().map_or("", |s| s))),
        (CLASS_COLORS[1], format!("{} (1)", graph.class_names.get(1).map_or("", |s| s))),
    ];
    for (k, (c, name)) in legend.iter().enumerate() {
        let y = 45;
        let x = 20 + 160 * k as i32;
        root.draw(&Circle::new((x + 6, y + 6), 6, c.filled()))?;
        root.draw(&Text::new(name.clone(), (x + 18, y - 2), ("sans-serif", 16).into_font()))?;
    }
    root.draw(&Text::new(
        "fill: predicted faction, ring: true faction; large, black outline: labelled".to_string(),
        (340, 43),
        ("sans-serif", 13).into_font(),
    ))?;
    root.present()?;
    Ok(())
}
