//! Handle tables: values a host refers to by a small positive number,
//! whose freed slots are reused, so a long-lived host that opens and
//! closes snapshots keeps a bounded table.

/// Values by handle (`1..`); `0` is never a handle.
pub(crate) struct Slots<T> {
    values: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Slots<T> {
    pub(crate) const fn new() -> Self {
        Slots {
            values: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Stores `value`; answers its handle (0 only if the table is full).
    pub(crate) fn insert(&mut self, value: T) -> u32 {
        if let Some(handle) = self.free.pop()
            && let Some(slot) = (handle as usize)
                .checked_sub(1)
                .and_then(|at| self.values.get_mut(at))
        {
            *slot = Some(value);
            return handle;
        }
        self.values.push(Some(value));
        u32::try_from(self.values.len()).unwrap_or(0)
    }

    pub(crate) fn get(&self, handle: u32) -> Option<&T> {
        let at = (handle as usize).checked_sub(1)?;
        self.values.get(at)?.as_ref()
    }

    /// Drops the value; an unknown or freed handle is ignored.
    pub(crate) fn remove(&mut self, handle: u32) {
        let Some(slot) = (handle as usize)
            .checked_sub(1)
            .and_then(|at| self.values.get_mut(at))
        else {
            return;
        };
        if slot.take().is_some() {
            self.free.push(handle);
        }
    }
}
