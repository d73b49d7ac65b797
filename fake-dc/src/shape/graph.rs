//! Group nesting as a graph: cycles (Tarjan's strongly connected components, iterative so
//! a deep chain cannot overflow the stack) and the longest chain without a repeat (over
//! the graph of components, which has no cycle).

/// `edges[g]`: the groups `g` holds (indexes into the same list).
pub(super) struct Nesting {
    /// Sets of more than one group that reach one another.
    pub cycles: u64,
    pub groups_in_cycles: u64,
    /// Groups on the longest chain of the component graph; a component counts its groups
    /// once each, so a cycle of two inside a chain of three makes four.
    pub max_depth: u32,
}

pub(super) fn nesting(edges: &[Vec<usize>]) -> Nesting {
    let n = edges.len();
    let component = components(edges);
    let count = component.iter().copied().max().map_or(0, |m| m + 1);
    let mut size = vec![0u32; count];
    for &c in &component {
        size[c] += 1;
    }
    let cycles = size.iter().filter(|&&s| s > 1).count() as u64;
    let groups_in_cycles = size.iter().filter(|&&s| s > 1).map(|&s| u64::from(s)).sum();
    // Tarjan numbers components in reverse topological order: a component's successors
    // have smaller numbers, so one pass in increasing order sees them first.
    let mut succ: Vec<Vec<usize>> = vec![Vec::new(); count];
    for g in 0..n {
        for &m in &edges[g] {
            if component[g] != component[m] {
                succ[component[g]].push(component[m]);
            }
        }
    }
    let mut depth = vec![0u32; count];
    for c in 0..count {
        let below = succ[c].iter().map(|&s| depth[s]).max().unwrap_or(0);
        depth[c] = size[c] + below;
    }
    Nesting {
        cycles,
        groups_in_cycles,
        max_depth: depth.into_iter().max().unwrap_or(0),
    }
}

/// The strongly connected component of each node (Tarjan, iterative).
fn components(edges: &[Vec<usize>]) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    let n = edges.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![UNSEEN; n];
    let mut next_index = 0;
    let mut next_component = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        // (node, next edge to look at)
        let mut work = vec![(root, 0usize)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut e)) = work.last_mut() {
            if *e < edges[v].len() {
                let w = edges[v][*e];
                *e += 1;
                if index[w] == UNSEEN {
                    index[w] = next_index;
                    low[w] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = next_component;
                    if w == v {
                        break;
                    }
                }
                next_component += 1;
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::nesting;

    #[test]
    fn chains_and_cycles() {
        // 0 → 1 → 2 ⇄ 3, 4 alone
        let n = nesting(&[vec![1], vec![2], vec![3], vec![2], vec![]]);
        assert_eq!((n.cycles, n.groups_in_cycles, n.max_depth), (1, 2, 4));
        let n = nesting(&[vec![], vec![]]);
        assert_eq!((n.cycles, n.max_depth), (0, 1));
    }
}
