//! Graph convolutions on Zachary's karate club (`neurite_host::graph`): semi-supervised
//! node classification from the two leaders' labels (a two-layer GCN on one-hot node ids;
//! accuracy on the 32 unlabelled members and on all 34), then a graph-level task (which
//! faction a set of marked members was drawn from, through `graph_mean_pool`; accuracy on
//! held-out samples). Writes the club, coloured by the predicted faction, as a PNG.
//!
//! `cargo run --release -p neurite-host --example graph_karate -- [--steps N] [--epochs N] [--out DIR]`
//! (also `--seed`, `--lr`)

use clap::Parser;
use neurite_host::graph::{
    spring_layout, train_nodes, train_readout, write_graph_png, Graph, NodeConfig, ReadoutConfig,
};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Parser)]
#[command(about = "GCN node classification and a graph-level readout on the karate club")]
struct Args {
    /// Full-graph Adam steps of the node classifier.
    #[arg(long, default_value_t = NodeConfig::default().steps)]
    steps: usize,
    /// Epochs of the graph-level task.
    #[arg(long, default_value_t = ReadoutConfig::default().epochs)]
    epochs: usize,
    /// Adam learning rate (both tasks).
    #[arg(long, default_value_t = NodeConfig::default().lr)]
    lr: f32,
    /// Seed of the initialisation and the samples.
    #[arg(long, default_value_t = NodeConfig::default().seed)]
    seed: u64,
    /// Directory of the PNG.
    #[arg(long, default_value = "neurite-out")]
    out: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let graph = Graph::karate()?;
    println!(
        "Zachary's karate club: {} members, {} friendships, factions {:?}",
        graph.nodes,
        graph.edges.len(),
        graph.class_names
    );

    let cfg = NodeConfig { steps: args.steps, lr: args.lr, seed: args.seed, ..Default::default() };
    println!(
        "\nnode classification: {}, identity features, labelled nodes {:?}, {} Adam steps, lr {}",
        cfg.spec, cfg.train_nodes, cfg.steps, cfg.lr
    );
    let start = Instant::now();
    let nodes = train_nodes(&cfg, &graph)?;
    for (i, l) in nodes.losses.iter().enumerate() {
        if i % 25 == 0 || i + 1 == nodes.losses.len() {
            println!("step {:>4}: loss over the labelled nodes {l:.4}", i + 1);
        }
    }
    let wrong: Vec<usize> =
        (0..graph.nodes).filter(|&v| nodes.predictions[v] != graph.labels[v]).collect();
    println!(
        "accuracy: unlabelled nodes {:.3} ({} of {}), all nodes {:.3}; untrained model {:.3}; \
         misclassified {wrong:?} ({:.2} s)",
        nodes.accuracy_unlabelled,
        (nodes.accuracy_unlabelled * (graph.nodes - cfg.train_nodes.len()) as f32).round(),
        graph.nodes - cfg.train_nodes.len(),
        nodes.accuracy_all,
        nodes.untrained_unlabelled,
        start.elapsed().as_secs_f32()
    );
    println!("{}", neurite_host::footprint::m4f_estimate_line(&nodes.model));

    let rcfg =
        ReadoutConfig { epochs: args.epochs, lr: args.lr, seed: args.seed, ..Default::default() };
    println!(
        "\ngraph-level task: {} marked nodes from one faction + {} from the rest, label = the \
         faction; {}; {} train / {} held-out samples, {} epochs, batch {}",
        rcfg.signal,
        rcfg.noise,
        rcfg.spec,
        rcfg.train_samples,
        rcfg.test_samples,
        rcfg.epochs,
        rcfg.batch
    );
    let start = Instant::now();
    let readout = train_readout(&rcfg, &graph)?;
    for (i, l) in readout.train_loss.iter().enumerate() {
        if i % 5 == 0 || i + 1 == readout.train_loss.len() {
            println!("epoch {:>3}: train loss {l:.4}", i + 1);
        }
    }
    println!(
        "accuracy: held-out {:.3}, train {:.3}; untrained model {:.3}; chance 0.5 ({:.1} s)",
        readout.test_accuracy,
        readout.train_accuracy,
        readout.untrained_accuracy,
        start.elapsed().as_secs_f32()
    );

    std::fs::create_dir_all(&args.out)?;
    let path = args.out.join("graph_karate.png");
    let positions = spring_layout(&graph, 300, 7);
    let title = format!(
        "karate club: GCN from the labels of nodes {:?}, accuracy {:.3} on the other {} nodes",
        cfg.train_nodes,
        nodes.accuracy_unlabelled,
        graph.nodes - cfg.train_nodes.len()
    );
    write_graph_png(&path, &graph, &positions, &nodes.predictions, &cfg.train_nodes, &title)?;
    println!("\nwrote {}", path.display());
    Ok(())
}
