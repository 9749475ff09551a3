//! Work on every core for large inputs: reading a big `-f` file ahead ([`super::input`]) and checking
//! many workloads ([`super::check_all`]). Results always come back in the input's order.

/// The threads worth starting: the cores, at most 8.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(8))
}

/// `f` of each of up to `threads` consecutive parts of `items`, in their order. A part whose thread
/// failed is done again on this one, so nothing is left out.
pub(crate) fn in_order<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    let per_thread = items.len().div_ceil(threads.max(1)).max(1);
    let f = &f;
    std::thread::scope(|s| {
        let running: Vec<_> = items
            .chunks(per_thread)
            .map(|part| (part, s.spawn(move || f(part))))
            .collect();
        running
            .into_iter()
            .map(|(part, t)| t.join().unwrap_or_else(|_| f(part)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn parts_come_back_in_order() {
        let items: Vec<u32> = (0..10).collect();
        let sums = super::in_order(&items, 3, |part| part.to_vec());
        assert_eq!(sums, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9]]);
    }
}
