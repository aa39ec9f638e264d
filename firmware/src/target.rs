//! What exists only on the MCU: the exit path (semihosting), the panic handler, counting
//! instructions with SysTick in QEMU, and painting the stack to measure its high-water mark.

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use defmt_semihosting as _; // the global defmt logger

pub use cortex_m_rt as rt;

/// `count / units` as whole and hundredths (truncated), for printing a ratio with defmt's
/// integers: `(7765, 912)` gives `(8, 51)`, "8.51 per MAC".
pub fn per(count: u32, units: u32) -> (u32, u32) {
    (count / units, (count % units) * 100 / units)
}

/// Ends the program: QEMU exits with status 0 or 1.
pub fn exit(success: bool) -> ! {
    let code = if success {
        cortex_m_semihosting::debug::EXIT_SUCCESS
    } else {
        cortex_m_semihosting::debug::EXIT_FAILURE
    };
    loop {
        cortex_m_semihosting::debug::exit(code);
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(false)
}

/// Defines a HardFault handler that reports the fault and exits with failure (a bin calls
/// it once, so that faults fail the run instead of hanging).
#[macro_export]
macro_rules! exit_on_hardfault {
    () => {
        #[$crate::target::rt::exception]
        unsafe fn HardFault(frame: &$crate::target::rt::ExceptionFrame) -> ! {
            defmt::error!("HardFault at pc {=u32:#x}", frame.pc());
            $crate::target::exit(false)
        }
    };
}

/// Counts executed instructions in QEMU run with `-icount shift=7` (one instruction = 128 ns
/// of virtual time): SysTick on the 25 MHz processor clock ticks every 40 ns, so
/// instructions = ticks x 40 / 128. One measurement must stay below one 24-bit wrap (about
/// 5.2 million instructions): one whose count wraps back below its start panics instead of
/// reporting a wrong figure (a count of two wraps or more is not detected). On real
/// hardware, use DWT cycles instead.
pub struct InstructionCounter {
    syst: SYST,
    overhead: u32,
}

impl InstructionCounter {
    /// Starts SysTick free-running and measures the cost of an empty measurement.
    pub fn new(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(0x00FF_FFFF);
        syst.clear_current();
        syst.enable_counter();
        // QEMU reloads the current value only after the first tick
        while SYST::get_current() == 0 {}
        let mut c = Self { syst, overhead: 0 };
        c.overhead = c.ticks(|| ());
        c
    }

    /// SysTick ticks of `f`. Panics (failing the run) when the counter wrapped during `f`:
    /// the figure would be wrong.
    fn ticks(&mut self, f: impl FnOnce()) -> u32 {
        let start = SYST::get_current();
        let _ = self.syst.has_wrapped(); // reading COUNTFLAG clears it
        f();
        let end = SYST::get_current();
        let wrapped = self.syst.has_wrapped();
        // a reload between reading `end` and the flag is not `f`'s: the counter is then above
        // `end` again
        let wrapped_in_f = wrapped && SYST::get_current() <= end;
        let ticks = start.wrapping_sub(end) & 0x00FF_FFFF;
        // one wrap leaves the counter above its start; back below it, 2^24 ticks or more passed
        assert!(
            !wrapped_in_f || end > start,
            "instruction count: SysTick wrapped, measure less at once"
        );
        ticks
    }

    /// Instructions executed by `f` (the measurement's own cost subtracted).
    pub fn measure(&mut self, f: impl FnOnce()) -> u32 {
        let t = self.ticks(f).saturating_sub(self.overhead);
        (t as u64 * 40 / 128) as u32
    }

    /// The SysTick back.
    pub fn release(self) -> SYST {
        self.syst
    }
}

const PAINT: u32 = 0xC0FF_EE55;

extern "C" {
    /// End of static RAM (start of the unused region the stack grows down into).
    static __sheap: u32;
    /// Initial stack pointer (top of RAM).
    static _stack_start: u32;
}

fn stack_bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken, never their contents.
    (core::ptr::addr_of!(__sheap) as usize, core::ptr::addr_of!(_stack_start) as usize)
}

/// Stack bytes used by `f` below the stack pointer at the call: the unused stack is
/// painted with a pattern first, and the deepest overwritten word is found afterwards.
///
/// `f` runs behind an opaque `dyn` call, so the compiler cannot inline it into the caller
/// and move its locals into the caller's frame, above the painted region (which would hide
/// them from the measurement).
pub fn stack_used_by(f: impl FnOnce()) -> usize {
    let mut f = Some(f);
    let mut call = || {
        if let Some(f) = f.take() {
            f()
        }
    };
    let call: &mut dyn FnMut() = core::hint::black_box(&mut call);
    stack_used_by_dyn(call)
}

#[inline(never)]
fn stack_used_by_dyn(f: &mut dyn FnMut()) -> usize {
    let (bottom, _) = stack_bounds();
    let sp = cortex_m::register::msp::read() as usize;
    // leave 64 bytes for this function's own frame
    let painted_top = sp - 64;
    let mut p = bottom.next_multiple_of(4);
    while p < painted_top {
        // SAFETY: [bottom, sp - 64) is RAM between the end of statics and the live stack,
        // unused by anything; aligned words only.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
    f();
    let mut p = bottom.next_multiple_of(4);
    // SAFETY: reads aligned words of the region painted above.
    while p < painted_top && unsafe { core::ptr::read_volatile(p as *const u32) } == PAINT {
        p += 4;
    }
    sp - p
}
