//! Synthetic layered stacks: `size` resources in `depth` layers, each resource of layer
//! `l > 0` referring to `width` resources of layer `l - 1`. The same graph is written as a
//! Plinth stack (`plinth_data`) and as a Terraform configuration (`terraform_data`), so both
//! tools do the same work.

use std::fmt::Write as _;
use std::path::Path;

/// Shape of a layered stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// Number of resources.
    pub size: usize,
    /// Number of layers.
    pub depth: usize,
    /// References from each resource into the layer below.
    pub width: usize,
}

impl Shape {
    /// Resources per layer: `size / depth`, the first layers taking the remainder.
    pub fn layer_sizes(&self) -> Vec<usize> {
        let depth = self.depth.clamp(1, self.size.max(1));
        let base = self.size / depth;
        let extra = self.size % depth;
        (0..depth).map(|l| base + usize::from(l < extra)).collect()
    }

    /// The resources `(layer, index)` that `(layer, index)` refers to.
    pub fn upstream(&self, sizes: &[usize], layer: usize, index: usize) -> Vec<(usize, usize)> {
        if layer == 0 {
            return Vec::new();
        }
        let below = sizes[layer - 1];
        let count = self.width.clamp(1, below);
        let mut out: Vec<(usize, usize)> = (0..count)
            .map(|k| (layer - 1, (index + k * below.div_ceil(count)) % below))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The address name of a resource.
    pub fn name(layer: usize, index: usize) -> String {
        format!("r{layer}_{index}")
    }

    /// The resource a one-resource change edits: the first of the top layer (nothing depends
    /// on it, so exactly one resource changes).
    pub fn changed(&self) -> (usize, usize) {
        (self.layer_sizes().len() - 1, 0)
    }
}

/// Which version of the configuration to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// Every resource with `seed = "a"`.
    Base,
    /// The [`Shape::changed`] resource with `seed = "b"`.
    OneChanged,
}

impl Variant {
    fn seed(self, shape: &Shape, layer: usize, index: usize) -> &'static str {
        if self == Variant::OneChanged && shape.changed() == (layer, index) {
            "b"
        } else {
            "a"
        }
    }
}

/// Appends the `plinth_data` blocks of a layered stack to `out`; `seed` gives each resource's
/// seed text (`a`, `b`, or `${var.seed}` in the module case).
fn write_layers(out: &mut String, shape: &Shape, seed: impl Fn(usize, usize) -> &'static str) {
    let sizes = shape.layer_sizes();
    for (layer, &count) in sizes.iter().enumerate() {
        for index in 0..count {
            let upstream: Vec<String> = shape
                .upstream(&sizes, layer, index)
                .into_iter()
                .map(|(l, i)| format!("\"${{plinth_data.{}.id}}\"", Shape::name(l, i)))
                .collect();
            let _ = writeln!(
                out,
                "[plinth_data.{}]\ninput = {{ layer = {layer}, index = {index}, seed = \"{}\", upstream = [{}] }}\n",
                Shape::name(layer, index),
                seed(layer, index),
                upstream.join(", ")
            );
        }
    }
}

/// Writes `<dir>/stack.toml` for Plinth.
pub fn write_plinth(dir: &Path, shape: &Shape, variant: Variant) -> std::io::Result<()> {
    let mut out = String::with_capacity(shape.size * 120);
    out.push_str("[stack]\nname = \"bench\"\nenvironments = [\"bench\"]\n\n");
    write_layers(&mut out, shape, |layer, index| {
        variant.seed(shape, layer, index)
    });
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("stack.toml"), out)
}

/// Writes the same number of resources as `instances` instances of one module: `<dir>/part/`
/// holds a layered stack of `size / instances` resources whose [`Shape::changed`] resource
/// takes its seed from the variable `seed`, and `<dir>/stack.toml` calls it with `for_each`
/// over `instances` keys (the last key's seed is `"b"` in [`Variant::OneChanged`], so one
/// resource of the whole stack changes).
pub fn write_plinth_modules(
    dir: &Path,
    shape: &Shape,
    variant: Variant,
    instances: usize,
) -> std::io::Result<()> {
    let instances = instances.clamp(1, shape.size.max(1));
    let part = Shape {
        size: shape.size / instances,
        ..*shape
    };
    let mut module = String::with_capacity(part.size * 120);
    module.push_str("[variables]\nseed = { type = \"string\" }\n\n");
    let changed = part.changed();
    write_layers(&mut module, &part, |layer, index| {
        if changed == (layer, index) {
            "${var.seed}"
        } else {
            "a"
        }
    });
    let keys: Vec<String> = (0..instances)
        .map(|i| {
            let seed = if variant == Variant::OneChanged && i + 1 == instances {
                "b"
            } else {
                "a"
            };
            format!("m{i} = \"{seed}\"")
        })
        .collect();
    let stack = format!(
        "[stack]\nname = \"bench\"\nenvironments = [\"bench\"]\n\n[module.part]\nsource   = \"./part\"\nfor_each = {{ {} }}\nseed     = \"${{each.value}}\"\n",
        keys.join(", ")
    );
    std::fs::create_dir_all(dir.join("part"))?;
    std::fs::write(dir.join("part/main.toml"), module)?;
    std::fs::write(dir.join("stack.toml"), stack)
}

/// Writes `<dir>/main.tf` for Terraform.
pub fn write_terraform(dir: &Path, shape: &Shape, variant: Variant) -> std::io::Result<()> {
    let sizes = shape.layer_sizes();
    let mut out = String::with_capacity(shape.size * 140);
    for (layer, &count) in sizes.iter().enumerate() {
        for index in 0..count {
            let upstream: Vec<String> = shape
                .upstream(&sizes, layer, index)
                .into_iter()
                .map(|(l, i)| format!("terraform_data.{}.id", Shape::name(l, i)))
                .collect();
            let _ = writeln!(
                out,
                "resource \"terraform_data\" \"{}\" {{\n  input = {{\n    layer    = {layer}\n    index    = {index}\n    seed     = \"{}\"\n    upstream = [{}]\n  }}\n}}\n",
                Shape::name(layer, index),
                variant.seed(shape, layer, index),
                upstream.join(", ")
            );
        }
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("main.tf"), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_split_the_size_and_refer_downwards() {
        let shape = Shape {
            size: 10,
            depth: 3,
            width: 2,
        };
        let sizes = shape.layer_sizes();
        assert_eq!(sizes, vec![4, 3, 3]);
        assert!(shape.upstream(&sizes, 0, 0).is_empty());
        let up = shape.upstream(&sizes, 1, 2);
        assert_eq!(up, vec![(0, 0), (0, 2)]);
        assert_eq!(shape.changed(), (2, 0));
    }

    #[test]
    fn the_one_change_variant_differs_in_one_resource() {
        let dir = tempfile::tempdir().unwrap();
        let shape = Shape {
            size: 20,
            depth: 4,
            width: 2,
        };
        write_plinth(&dir.path().join("a"), &shape, Variant::Base).unwrap();
        write_plinth(&dir.path().join("b"), &shape, Variant::OneChanged).unwrap();
        let a = std::fs::read_to_string(dir.path().join("a/stack.toml")).unwrap();
        let b = std::fs::read_to_string(dir.path().join("b/stack.toml")).unwrap();
        let differing = a.lines().zip(b.lines()).filter(|(x, y)| x != y).count();
        assert_eq!(differing, 1);
        assert!(a.contains("upstream = [\"${plinth_data.r0_0.id}\""));
        write_terraform(dir.path(), &shape, Variant::Base).unwrap();
        let tf = std::fs::read_to_string(dir.path().join("main.tf")).unwrap();
        assert_eq!(tf.matches("resource \"terraform_data\"").count(), 20);
    }

    #[test]
    fn the_module_case_holds_as_many_resources_and_one_change() {
        let dir = tempfile::tempdir().unwrap();
        let shape = Shape {
            size: 40,
            depth: 4,
            width: 2,
        };
        let base = dir.path().join("base");
        let changed = dir.path().join("changed");
        write_plinth_modules(&base, &shape, Variant::Base, 4).unwrap();
        write_plinth_modules(&changed, &shape, Variant::OneChanged, 4).unwrap();
        let registry = plinth::registry::Registry::default_registry();
        let schemas = registry.schemas();
        let load = |dir: &Path| {
            plinth::config::load(dir, &plinth::config::LoadOptions::default(), schemas)
                .unwrap_or_else(|d| panic!("{}", d.render_plain(100)))
        };
        let a = load(&base);
        assert_eq!(a.resources.len(), 40);
        assert!(a
            .resources
            .iter()
            .any(|r| r.address.to_string() == r#"module.part["m3"].plinth_data.r3_0"#));
        let b = load(&changed);
        let differing = a
            .resources
            .iter()
            .zip(&b.resources)
            .filter(|(x, y)| x.attributes != y.attributes)
            .count();
        assert_eq!(differing, 1);
    }
}
