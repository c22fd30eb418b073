//! The canvas viewport: pan and zoom as plain arithmetic, so the browser only applies the result.

/// Where the canvas content sits: translated by (`x`, `y`) pixels, then scaled by `scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub scale: f64,
}

impl Default for Viewport {
    fn default() -> Viewport {
        Viewport {
            x: 0.0,
            y: 0.0,
            scale: 1.0,
        }
    }
}

impl Viewport {
    pub const MIN_SCALE: f64 = 0.2;
    pub const MAX_SCALE: f64 = 2.0;

    /// Moves the content by a drag of (`dx`, `dy`) screen pixels.
    pub fn pan(self, dx: f64, dy: f64) -> Viewport {
        Viewport {
            x: self.x + dx,
            y: self.y + dy,
            ..self
        }
    }

    /// Zooms by `factor` keeping the content point under (`px`, `py`) (viewport pixels) still.
    pub fn zoom_at(self, factor: f64, px: f64, py: f64) -> Viewport {
        let scale = (self.scale * factor).clamp(Self::MIN_SCALE, Self::MAX_SCALE);
        let applied = scale / self.scale;
        Viewport {
            x: px - (px - self.x) * applied,
            y: py - (py - self.y) * applied,
            scale,
        }
    }

    /// The zoom for a mouse wheel's `delta_y`: smooth, about 10% per notch.
    pub fn wheel_factor(delta_y: f64) -> f64 {
        (-delta_y / 1000.0).exp()
    }

    /// Fits content of `content_w` × `content_h` (at scale 1) into a view of `view_w` × `view_h`,
    /// centred horizontally, top-aligned, never enlarged beyond 1.
    pub fn fit(content_w: f64, content_h: f64, view_w: f64, view_h: f64) -> Viewport {
        if content_w <= 0.0 || content_h <= 0.0 || view_w <= 0.0 || view_h <= 0.0 {
            return Viewport::default();
        }
        let scale = (view_w / content_w)
            .min(view_h / content_h)
            .clamp(Self::MIN_SCALE, 1.0);
        Viewport {
            x: (view_w - content_w * scale) / 2.0,
            y: 0.0,
            scale,
        }
    }

    /// The CSS transform that applies it.
    pub fn css(&self) -> String {
        format!(
            "translate({:.1}px, {:.1}px) scale({:.3})",
            self.x, self.y, self.scale
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zooming_keeps_the_point_under_the_pointer_still() {
        let v = Viewport::default().pan(40.0, 10.0);
        let z = v.zoom_at(2.0, 140.0, 110.0);
        assert_eq!(z.scale, 2.0);
        // The content point under (140, 110) was (100, 100); it still maps to (140, 110).
        assert_eq!(
            (z.x + 100.0 * z.scale, z.y + 100.0 * z.scale),
            (140.0, 110.0)
        );
        assert_eq!(v.zoom_at(100.0, 0.0, 0.0).scale, Viewport::MAX_SCALE);
        assert_eq!(v.zoom_at(0.001, 0.0, 0.0).scale, Viewport::MIN_SCALE);
        assert!(Viewport::wheel_factor(100.0) < 1.0 && Viewport::wheel_factor(-100.0) > 1.0);
    }

    #[test]
    fn fit_shrinks_tall_content_and_centres_it() {
        let v = Viewport::fit(400.0, 4000.0, 800.0, 600.0);
        assert!(
            (v.scale - 0.2).abs() < 1e-9,
            "clamped to the minimum: {v:?}"
        );
        let v = Viewport::fit(400.0, 1200.0, 800.0, 600.0);
        assert_eq!(v.scale, 0.5);
        assert_eq!(v.x, 300.0);
        assert_eq!(
            Viewport::fit(100.0, 100.0, 800.0, 600.0).scale,
            1.0,
            "never enlarged"
        );
        assert_eq!(Viewport::fit(0.0, 0.0, 800.0, 600.0), Viewport::default());
        assert_eq!(
            Viewport::default().css(),
            "translate(0.0px, 0.0px) scale(1.000)"
        );
    }
}
