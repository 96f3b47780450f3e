//! A minimal slab: stable `u32` indices, O(1) insert and remove, slots
//! reused through a free list so a steady-state run stops allocating.

/// A vector of optional slots with a free list.
pub struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    /// Values stored now.
    #[inline]
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab { slots: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slab<T> {
    /// Stores `value` and returns its index.
    #[inline(always)]
    pub fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(i) => {
                debug_assert!(self.slots[i as usize].is_none());
                self.slots[i as usize] = Some(value);
                i
            }
            None => {
                self.slots.push(Some(value));
                u32::try_from(self.slots.len() - 1).expect("slab index overflow")
            }
        }
    }

    /// The value at `index`; panics if the slot is empty.
    #[inline]
    pub fn get(&self, index: u32) -> &T {
        self.slots[index as usize].as_ref().expect("slab slot is empty")
    }

    /// Removes and returns the value at `index`; panics if the slot is empty
    /// (a kernel bug: every index is removed exactly once).
    #[inline]
    pub fn remove(&mut self, index: u32) -> T {
        let v = self.slots[index as usize].take().expect("slab slot removed twice");
        self.free.push(index);
        v
    }
}
