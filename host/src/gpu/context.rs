//! The GPU: a wgpu device and queue on a Vulkan adapter, with the compiled kernels.

use super::kernels::Kernels;
use wgpu::util::DeviceExt;

/// Why no GPU could be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuUnavailable(pub String);

impl std::fmt::Display for GpuUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GpuUnavailable {}

/// An open GPU: its device, queue and compiled kernels.
pub struct Gpu {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) kernels: Kernels,
    info: wgpu::AdapterInfo,
    max_binding: u64,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu").field("adapter", &self.describe()).finish_non_exhaustive()
    }
}

impl Gpu {
    /// Opens the highest-performance Vulkan adapter (a discrete GPU before an integrated one
    /// before a software one such as lavapipe) and compiles the kernels.
    ///
    /// # Errors
    ///
    /// [`GpuUnavailable`] saying why: no Vulkan adapter (no driver installed, or none that
    /// works), or the device could not be opened.
    pub fn new() -> Result<Self, GpuUnavailable> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::VULKAN,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            ..Default::default()
        }))
        .map_err(|e| {
            GpuUnavailable(format!(
                "no Vulkan GPU adapter ({e}); on Debian or Ubuntu `apt-get install mesa-vulkan-drivers` gives lavapipe, a software one"
            ))
        })?;
        let info = adapter.get_info();
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("neurite"),
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| GpuUnavailable(format!("{}: cannot open the device: {e}", info.name)))?;
        let kernels = Kernels::new(&device);
        let max_binding = limits.max_storage_buffer_binding_size;
        Ok(Self { device, queue, kernels, info, max_binding })
    }

    /// The adapter in words: `NVIDIA H100 (Vulkan, discrete GPU, driver 550.54)`.
    pub fn describe(&self) -> String {
        let kind = match self.info.device_type {
            wgpu::DeviceType::DiscreteGpu => "discrete GPU",
            wgpu::DeviceType::IntegratedGpu => "integrated GPU",
            wgpu::DeviceType::VirtualGpu => "virtual GPU",
            wgpu::DeviceType::Cpu => "software, on the CPU",
            wgpu::DeviceType::Other => "other",
        };
        let driver = if self.info.driver_info.is_empty() {
            String::new()
        } else {
            format!(", {}", self.info.driver_info)
        };
        format!("{} ({:?}, {kind}{driver})", self.info.name, self.info.backend)
    }

    /// `true` for a software adapter (lavapipe, SwiftShader): it runs on the CPU's cores.
    pub fn is_software(&self) -> bool {
        self.info.device_type == wgpu::DeviceType::Cpu
    }

    /// The largest buffer one kernel may bind, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.max_binding
    }

    /// A storage buffer of `len` floats (at least one), zeroed, readable back.
    pub(crate) fn zeros(&self, len: usize, label: &str) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// A storage buffer holding `values` (at least one float).
    pub(crate) fn upload(&self, values: &[f32], label: &str) -> wgpu::Buffer {
        let one = [0.0f32];
        let contents = if values.is_empty() { &one[..] } else { values };
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytemuck::cast_slice(contents),
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
        })
    }

    /// A uniform buffer holding `words` (a kernel's parameters, 16-byte multiples).
    pub(crate) fn uniform(&self, words: &[u32]) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("parameters"),
            contents: bytemuck::cast_slice(words),
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
        })
    }

    /// Reads `len` floats of each buffer back (one copy, one wait for all of them).
    pub(crate) fn read(&self, buffers: &[(&wgpu::Buffer, usize)]) -> Vec<Vec<f32>> {
        let total: usize = buffers.iter().map(|(_, n)| n.max(&1)).sum();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read back"),
            size: (total * 4) as u64,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        let mut at = 0u64;
        for (buffer, n) in buffers {
            let bytes = (n.max(&1) * 4) as u64;
            encoder.copy_buffer_to_buffer(buffer, 0, &staging, at, bytes);
            at += bytes;
        }
        self.queue.submit([encoder.finish()]);
        staging.map_async(wgpu::MapMode::Read, .., |r| {
            if let Err(e) = r {
                panic!("reading back from the GPU failed: {e}");
            }
        });
        self.wait();
        let mapped = staging.get_mapped_range(..).map(|view| {
            let floats: &[f32] = bytemuck::cast_slice(&view);
            let mut at = 0;
            buffers
                .iter()
                .map(|(_, n)| {
                    let part = floats[at..at + n].to_vec();
                    at += n.max(&1);
                    part
                })
                .collect()
        });
        staging.unmap();
        mapped.unwrap_or_else(|e| panic!("reading back from the GPU failed: {e}"))
    }

    /// Blocks until every submitted command has run.
    pub(crate) fn wait(&self) {
        if let Err(e) = self.device.poll(wgpu::PollType::wait_indefinitely()) {
            panic!("the GPU device was lost: {e}");
        }
    }
}
