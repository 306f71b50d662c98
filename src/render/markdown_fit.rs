//! Fitting a Markdown plan into a character budget, deterministically.
//!
//! Every listed thing is an [`Item`] with up to three forms: full (a `<details>` block with
//! its attribute diff), trimmed (the same block with the diff cut after [`TRIMMED_LINES`]
//! lines, saying how many it cut; only for longer diffs) and line (one list line). Items are
//! shortened in a fixed order — sections of lower importance first (outputs and warnings, then
//! ordinary changes, then drift, then risky changes), within a section from the end — first
//! from full to trimmed for every item, then to line, then to not listed: a resource's diff is
//! cut inside before the resource loses its details. Lengths are kept as running sums, so fitting 5,000 changes
//! costs a few passes over the items, not a re-render per step.

use super::markdown::Markdown;

/// Diff lines a trimmed item keeps.
pub(super) const TRIMMED_LINES: usize = 12;

/// What an item describes (for the "left out" counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ItemKind {
    /// A resource change.
    Change,
    /// A drifted resource.
    Drift,
    /// An output change.
    Output,
    /// A warning.
    Warning,
    /// A policy finding.
    Policy,
}

/// One listed thing, in both forms, with lengths in characters.
pub(super) struct Item {
    kind: ItemKind,
    full: String,
    trimmed: String,
    line: String,
    full_chars: usize,
    trimmed_chars: usize,
    line_chars: usize,
}

impl Item {
    /// A resource: `summary` (HTML) plus the lines of its attribute diff.
    pub(super) fn new(kind: ItemKind, summary: String, lines: &[String]) -> Item {
        let line = format!("- {summary}\n");
        if lines.is_empty() {
            return Item::line_only(kind, line);
        }
        let body: Vec<String> = lines
            .iter()
            .map(|l| l.replace('\r', "\\r").replace('\n', "\\n"))
            .collect();
        let details = |body: &[String]| {
            let body = body.join("\n");
            let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
            format!(
                "<details><summary>{summary}</summary>\n\n{fence}diff\n{body}\n{fence}\n\n</details>\n\n"
            )
        };
        let full = details(&body);
        let trimmed = if body.len() > TRIMMED_LINES + 1 {
            let mut cut = body[..TRIMMED_LINES].to_vec();
            cut.push(format!(
                "  … {} more diff line(s) cut to fit; see the full plan",
                body.len() - TRIMMED_LINES
            ));
            details(&cut)
        } else {
            full.clone()
        };
        Item {
            kind,
            full_chars: full.chars().count(),
            trimmed_chars: trimmed.chars().count(),
            line_chars: line.chars().count(),
            full,
            trimmed,
            line,
        }
    }

    /// Something that is one line in every form.
    pub(super) fn line_only(kind: ItemKind, line: String) -> Item {
        let chars = line.chars().count();
        Item {
            kind,
            full: line.clone(),
            trimmed: line.clone(),
            line,
            full_chars: chars,
            trimmed_chars: chars,
            line_chars: chars,
        }
    }

    fn can_trim(&self) -> bool {
        self.trimmed_chars != self.full_chars
    }

    fn has_details(&self) -> bool {
        self.full_chars != self.line_chars || self.full != self.line
    }
}

/// A section: a heading and its items.
pub(super) struct Section {
    /// `#### ...` with its blank line.
    pub(super) heading: String,
    /// What its items are, for "… and N more {noun} not listed".
    pub(super) noun: &'static str,
    /// Importance: 0 is kept longest.
    pub(super) rank: u8,
    /// Items in display order.
    pub(super) items: Vec<Item>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Full,
    Trimmed,
    Line,
    Omitted,
}

struct Fitting<'a> {
    header_chars: usize,
    sections: &'a [Section],
    heading_chars: Vec<usize>,
    levels: Vec<Vec<Level>>,
    item_chars: Vec<usize>,
    omitted: Vec<usize>,
    details_omitted: usize,
    details_trimmed: usize,
    omitted_by_kind: [usize; 5],
    max_chars: usize,
    pointer: &'a str,
}

fn kind_index(kind: ItemKind) -> usize {
    match kind {
        ItemKind::Change => 0,
        ItemKind::Drift => 1,
        ItemKind::Output => 2,
        ItemKind::Warning => 3,
        ItemKind::Policy => 4,
    }
}

impl Fitting<'_> {
    fn more_line(&self, section: usize) -> String {
        format!(
            "- … and {} more {} not listed\n",
            self.omitted[section], self.sections[section].noun
        )
    }

    fn shortened(&self) -> bool {
        self.details_omitted > 0 || self.details_trimmed > 0 || self.omitted.iter().any(|&n| n > 0)
    }

    fn footer(&self) -> String {
        if !self.shortened() {
            return String::new();
        }
        let mut parts = Vec::new();
        if self.details_trimmed > 0 {
            parts.push(format!(
                "the attribute diffs of {} resource(s) are cut after {TRIMMED_LINES} lines",
                self.details_trimmed
            ));
        }
        if self.details_omitted > 0 {
            parts.push(format!(
                "the attribute details of {} resource(s) are left out (one line each instead)",
                self.details_omitted
            ));
        }
        let [changes, drifted, outputs, warnings, findings] = self.omitted_by_kind;
        if changes + drifted > 0 {
            parts.push(format!(
                "{} resource(s) are not listed ({changes} change(s), {drifted} drifted)",
                changes + drifted
            ));
        }
        if outputs > 0 {
            parts.push(format!("{outputs} output change(s) are not listed"));
        }
        if warnings > 0 {
            parts.push(format!("{warnings} warning(s) are not listed"));
        }
        if findings > 0 {
            parts.push(format!("{findings} policy finding(s) are not listed"));
        }
        format!(
            "---\n\n**Shortened to fit {} characters:** {}. {}\n",
            thousands(self.max_chars),
            parts.join("; "),
            self.pointer
        )
    }

    fn total(&self) -> usize {
        let mut total = self.header_chars;
        for (index, &heading) in self.heading_chars.iter().enumerate() {
            total += heading + self.item_chars[index] + 1;
            if self.omitted[index] > 0 {
                total += self.more_line(index).chars().count();
            }
        }
        total + self.footer().chars().count()
    }

    fn set(&mut self, section: usize, item: usize, level: Level) {
        let current = self.levels[section][item];
        let it = &self.sections[section].items[item];
        let chars = |level: Level| match level {
            Level::Full => it.full_chars,
            Level::Trimmed => it.trimmed_chars,
            Level::Line => it.line_chars,
            Level::Omitted => 0,
        };
        self.item_chars[section] = self.item_chars[section] - chars(current) + chars(level);
        if current == Level::Trimmed && level != Level::Trimmed && it.can_trim() {
            self.details_trimmed -= 1;
        }
        if level == Level::Trimmed && it.can_trim() {
            self.details_trimmed += 1;
        }
        if matches!(current, Level::Full | Level::Trimmed)
            && matches!(level, Level::Line | Level::Omitted)
            && it.has_details()
        {
            self.details_omitted += 1;
        }
        if level == Level::Omitted {
            if current == Level::Line && it.has_details() {
                // Not listed at all: counted as not listed, not as "details left out".
                self.details_omitted -= 1;
            }
            self.omitted[section] += 1;
            self.omitted_by_kind[kind_index(it.kind)] += 1;
        }
        self.levels[section][item] = level;
    }

    fn compose(&self, header: &str) -> String {
        let mut out = String::from(header);
        for (index, section) in self.sections.iter().enumerate() {
            out.push_str(&section.heading);
            for (item, level) in section.items.iter().zip(&self.levels[index]) {
                match level {
                    Level::Full => out.push_str(&item.full),
                    Level::Trimmed => out.push_str(&item.trimmed),
                    Level::Line => out.push_str(&item.line),
                    Level::Omitted => {}
                }
            }
            if self.omitted[index] > 0 {
                out.push_str(&self.more_line(index));
            }
            out.push('\n');
        }
        out.push_str(&self.footer());
        out
    }
}

/// Composes `header` and `sections` within `max_chars` characters.
pub(super) fn fit(
    header: &str,
    sections: Vec<Section>,
    max_chars: usize,
    pointer: &str,
) -> Markdown {
    let mut fitting = Fitting {
        header_chars: header.chars().count(),
        heading_chars: sections.iter().map(|s| s.heading.chars().count()).collect(),
        levels: sections
            .iter()
            .map(|s| vec![Level::Full; s.items.len()])
            .collect(),
        item_chars: sections
            .iter()
            .map(|s| s.items.iter().map(|i| i.full_chars).sum())
            .collect(),
        omitted: vec![0; sections.len()],
        details_omitted: 0,
        details_trimmed: 0,
        omitted_by_kind: [0; 5],
        sections: &sections,
        max_chars,
        pointer,
    };
    // Least important first: higher rank first, within a section from the end.
    let mut order: Vec<(usize, usize)> = Vec::new();
    let mut by_rank: Vec<usize> = (0..sections.len()).collect();
    by_rank.sort_by_key(|&s| std::cmp::Reverse(sections[s].rank));
    for &section in &by_rank {
        for item in (0..sections[section].items.len()).rev() {
            order.push((section, item));
        }
    }
    for level in [Level::Trimmed, Level::Line, Level::Omitted] {
        for &(section, item) in &order {
            if fitting.total() <= max_chars {
                break;
            }
            if level == Level::Trimmed && !sections[section].items[item].can_trim() {
                continue;
            }
            fitting.set(section, item, level);
        }
    }
    let mut text = fitting.compose(header);
    let mut chars = text.chars().count();
    debug_assert_eq!(chars, fitting.total());
    if chars > max_chars {
        // Even the headings do not fit: cut the text itself and say so.
        let note = format!("\n\n… (cut to fit {} characters)\n", thousands(max_chars));
        let keep = max_chars.saturating_sub(note.chars().count());
        text = text.chars().take(keep).collect::<String>();
        if max_chars >= note.chars().count() {
            text.push_str(&note);
        }
        chars = text.chars().count();
    }
    Markdown {
        text,
        chars,
        details_omitted: fitting.details_omitted,
        details_trimmed: fitting.details_trimmed,
        resources_omitted: fitting.omitted_by_kind[0] + fitting.omitted_by_kind[1],
    }
}

fn longest_backtick_run(text: &str) -> usize {
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

/// `65536` → `65,536`.
pub(super) fn thousands(n: usize) -> String {
    let digits: Vec<char> = n.to_string().chars().collect();
    let groups: Vec<String> = digits
        .rchunks(3)
        .rev()
        .map(|group| group.iter().collect())
        .collect();
    groups.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(65_536), "65,536");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    #[test]
    fn fences_outgrow_the_backticks_inside() {
        let item = Item::new(ItemKind::Change, "s".into(), &["a ```` b".to_string()]);
        assert!(item.full.contains("\n`````diff\n"), "{}", item.full);
        assert!(item.has_details());
        let plain = Item::new(ItemKind::Drift, "s".into(), &[]);
        assert!(!plain.has_details());
        assert_eq!(plain.full, "- s\n");
    }
}
