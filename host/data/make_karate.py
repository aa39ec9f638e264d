#!/usr/bin/env python3
"""Writes Zachary's karate club (karate_edges.csv, karate_nodes.csv) from networkx's copy.

Source: W. W. Zachary, "An information flow model for conflict and fission in small
groups", Journal of Anthropological Research 33(4):452-473 (1977): the 78 friendships
(ties observed outside the club) among the 34 members of a university karate club, and
the faction each member joined when the club split (Mr. Hi's, the instructor, node 0; or
the Officer's, the administrator John A., node 33). Copied from networkx 3.6.1,
`nx.karate_club_graph()` (node attribute `club`: "Mr. Hi" or "Officer"). Edges are
written unweighted (networkx's `weight`, the number of contexts a tie was seen in, is left
out), each once with source < target, in networkx's order.

Run: python3 host/data/make_karate.py   (the CSVs are committed; nothing at build or test
time needs Python).
"""
import os

import networkx as nx

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    g = nx.karate_club_graph()
    assert g.number_of_nodes() == 34 and g.number_of_edges() == 78
    with open(os.path.join(HERE, "karate_edges.csv"), "w") as f:
        f.write("source,target\n")
        for a, b in g.edges():
            a, b = min(a, b), max(a, b)
            f.write(f"{a},{b}\n")
    clubs = {"Mr. Hi": 0, "Officer": 1}
    with open(os.path.join(HERE, "karate_nodes.csv"), "w") as f:
        f.write("node,club,label\n")
        for v in range(34):
            club = g.nodes[v]["club"]
            f.write(f"{v},{club},{clubs[club]}\n")
    print("networkx", nx.__version__, ": 34 nodes, 78 edges written")


if __name__ == "__main__":
    main()
