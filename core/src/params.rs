//! Parameter trees: a model, its gradients and its optimiser moments are values whose
//! learnable tensors line up by index.
//!
//! [`Params`] exposes tensor `i` of a value as a flat slice; a model and its `Grads` type
//! number their tensors identically, which is what lets an optimiser walk parameters,
//! gradients and state side by side without allocation.

use crate::error::{check_finite, Error};

/// A value made of learnable `f32` tensors, numbered `0..TENSORS`.
pub trait Params {
    /// How many tensors.
    const TENSORS: usize;
    /// How many scalars in all tensors together.
    const LEN: usize;
    /// Tensor `i` as a flat slice (row-major); empty for `i >= TENSORS`.
    fn tensor(&self, i: usize) -> &[f32];
    /// Tensor `i` as a mutable flat slice; empty for `i >= TENSORS`.
    fn tensor_mut(&mut self, i: usize) -> &mut [f32];

    /// Sets every scalar to zero.
    fn zero(&mut self) {
        for i in 0..Self::TENSORS {
            self.tensor_mut(i).fill(0.0);
        }
    }

    /// Loads all tensors from `values`, concatenated in tensor order (pretrained weights).
    ///
    /// Checks the length and that every value is finite before changing anything.
    fn load(&mut self, values: &[f32]) -> Result<(), Error> {
        crate::error::check_len(values, Self::LEN)?;
        check_finite(values)?;
        let mut rest = values;
        for i in 0..Self::TENSORS {
            let t = self.tensor_mut(i);
            let (head, tail) = rest.split_at(t.len());
            t.copy_from_slice(head);
            rest = tail;
        }
        Ok(())
    }

    /// Writes all tensors into `out`, concatenated in tensor order; returns the count.
    /// Writes nothing and returns `Err(LengthMismatch)` unless `out.len() == LEN`.
    fn store(&self, out: &mut [f32]) -> Result<usize, Error> {
        if out.len() != Self::LEN {
            return Err(Error::LengthMismatch { expected: Self::LEN, found: out.len() });
        }
        let mut at = 0;
        for i in 0..Self::TENSORS {
            let t = self.tensor(i);
            out[at..at + t.len()].copy_from_slice(t);
            at += t.len();
        }
        Ok(at)
    }
}

/// A value with an all-zero constant: gradients, optimiser moments, activation buffers.
pub trait Zeroed: Sized {
    /// The all-zero value, usable in `static` and `const` items.
    const ZEROED: Self;
}

/// A fixed-size `f32` sample: a layer's input or output. A flat `[f32; N]`, or a shaped
/// `[[f32; W]; H]` (`[C][L]` for 1-D convolutions) or `[[[f32; W]; H]; C]` (a `C x H x W`
/// image), viewed as one row-major slice of `LEN` values.
///
/// Arrays have inherent `as_slice` / `as_mut_slice` methods that return the outer slice
/// (`&[[f32; W]]` for a nested array); on a concrete nested array, call these trait methods
/// by path: `Vector::as_slice(&x)`. In generic code (`V: Vector`) `x.as_slice()` is this one.
///
/// A minibatch of `B` samples, `[V; B]`, is one contiguous sample-major buffer of
/// `B * LEN` values ([`Vector::batch_slice`]): the layout of the batch kernels
/// ([`crate::kernel::norm::batchnorm_train_forward`]).
pub trait Vector: Zeroed + Copy {
    /// Number of elements.
    const LEN: usize;
    /// All `LEN` values, row-major.
    fn as_slice(&self) -> &[f32];
    /// All `LEN` values, row-major, mutable.
    fn as_mut_slice(&mut self) -> &mut [f32];
    /// A minibatch `[Self; B]` as one flat slice of `B * LEN` values, sample-major
    /// (`x[n][...]`), without copying.
    fn batch_slice<const B: usize>(batch: &[Self; B]) -> &[f32];
    /// [`Vector::batch_slice`], mutable.
    fn batch_slice_mut<const B: usize>(batch: &mut [Self; B]) -> &mut [f32];
}

impl Zeroed for f32 {
    const ZEROED: Self = 0.0;
}

/// Every element zero: a sample, a minibatch of samples (`[[f32; N]; B]`), or of traces.
impl<T: Zeroed, const N: usize> Zeroed for [T; N] {
    const ZEROED: Self = [T::ZEROED; N];
}

impl<const N: usize> Vector for [f32; N] {
    const LEN: usize = N;
    fn as_slice(&self) -> &[f32] {
        self
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        self
    }
    fn batch_slice<const B: usize>(batch: &[Self; B]) -> &[f32] {
        batch.as_flattened()
    }
    fn batch_slice_mut<const B: usize>(batch: &mut [Self; B]) -> &mut [f32] {
        batch.as_flattened_mut()
    }
}

impl<const W: usize, const H: usize> Vector for [[f32; W]; H] {
    const LEN: usize = H * W;
    fn as_slice(&self) -> &[f32] {
        self.as_flattened()
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        self.as_flattened_mut()
    }
    fn batch_slice<const B: usize>(batch: &[Self; B]) -> &[f32] {
        batch.as_flattened().as_flattened()
    }
    fn batch_slice_mut<const B: usize>(batch: &mut [Self; B]) -> &mut [f32] {
        batch.as_flattened_mut().as_flattened_mut()
    }
}

impl<const W: usize, const H: usize, const C: usize> Vector for [[[f32; W]; H]; C] {
    const LEN: usize = C * H * W;
    fn as_slice(&self) -> &[f32] {
        self.as_flattened().as_flattened()
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        self.as_flattened_mut().as_flattened_mut()
    }
    fn batch_slice<const B: usize>(batch: &[Self; B]) -> &[f32] {
        batch.as_flattened().as_flattened().as_flattened()
    }
    fn batch_slice_mut<const B: usize>(batch: &mut [Self; B]) -> &mut [f32] {
        batch.as_flattened_mut().as_flattened_mut().as_flattened_mut()
    }
}

impl Zeroed for () {
    const ZEROED: Self = ();
}

impl<A: Zeroed, B: Zeroed> Zeroed for (A, B) {
    const ZEROED: Self = (A::ZEROED, B::ZEROED);
}

impl<A: Zeroed, B: Zeroed, C: Zeroed> Zeroed for (A, B, C) {
    const ZEROED: Self = (A::ZEROED, B::ZEROED, C::ZEROED);
}

/// Implements [`Params`] with no tensors (activations, softmax, `()`).
macro_rules! no_params {
    ($([$($g:tt)*] $t:ty;)*) => {$(
        impl<$($g)*> $crate::params::Params for $t {
            const TENSORS: usize = 0;
            const LEN: usize = 0;
            fn tensor(&self, _: usize) -> &[f32] {
                &[]
            }
            fn tensor_mut(&mut self, _: usize) -> &mut [f32] {
                &mut []
            }
        }
    )*};
}
pub(crate) use no_params;

no_params! {
    [] ();
}

/// Tensors of `(A, B)` are A's followed by B's.
impl<A: Params, B: Params> Params for (A, B) {
    const TENSORS: usize = A::TENSORS + B::TENSORS;
    const LEN: usize = A::LEN + B::LEN;
    fn tensor(&self, i: usize) -> &[f32] {
        if i < A::TENSORS {
            self.0.tensor(i)
        } else {
            self.1.tensor(i - A::TENSORS)
        }
    }
    fn tensor_mut(&mut self, i: usize) -> &mut [f32] {
        if i < A::TENSORS {
            self.0.tensor_mut(i)
        } else {
            self.1.tensor_mut(i - A::TENSORS)
        }
    }
}

/// Sum of squares of every scalar of `p`, tensor by tensor in index order.
pub fn sum_of_squares<P: Params>(p: &P) -> f32 {
    let mut total = 0.0;
    for i in 0..P::TENSORS {
        total += crate::kernel::reduce::dot(p.tensor(i), p.tensor(i));
    }
    total
}
