//! Text on placeholder tiles ("camera 2 offline"), drawn with a built-in 5x7 bitmap font (no
//! font files), as the camera relay has always drawn it.

use crate::rgb::RgbImage;

/// Background of a placeholder tile in the [`crate::LiveStitcher`] (a dark slate).
pub const PLACEHOLDER_RGB: [u8; 3] = [48, 48, 56];
/// Colour of a placeholder tile's label (amber).
pub const LABEL_RGB: [u8; 3] = [235, 200, 80];

/// 5x7 glyphs, one byte per row, bit 4 = leftmost column.
fn glyph(c: char) -> [u8; 7] {
    match c {
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        'a' => [0x00, 0x00, 0x0E, 0x01, 0x0F, 0x11, 0x0F],
        'b' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x1E],
        'c' => [0x00, 0x00, 0x0E, 0x10, 0x10, 0x11, 0x0E],
        'd' => [0x01, 0x01, 0x0D, 0x13, 0x11, 0x11, 0x0F],
        'e' => [0x00, 0x00, 0x0E, 0x11, 0x1F, 0x10, 0x0E],
        'f' => [0x06, 0x09, 0x08, 0x1C, 0x08, 0x08, 0x08],
        'g' => [0x00, 0x0F, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'h' => [0x10, 0x10, 0x16, 0x19, 0x11, 0x11, 0x11],
        'i' => [0x04, 0x00, 0x0C, 0x04, 0x04, 0x04, 0x0E],
        'j' => [0x02, 0x00, 0x06, 0x02, 0x02, 0x12, 0x0C],
        'k' => [0x10, 0x10, 0x12, 0x14, 0x18, 0x14, 0x12],
        'l' => [0x0C, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'm' => [0x00, 0x00, 0x1A, 0x15, 0x15, 0x11, 0x11],
        'n' => [0x00, 0x00, 0x16, 0x19, 0x11, 0x11, 0x11],
        'o' => [0x00, 0x00, 0x0E, 0x11, 0x11, 0x11, 0x0E],
        'p' => [0x00, 0x00, 0x1E, 0x11, 0x1E, 0x10, 0x10],
        'q' => [0x00, 0x00, 0x0D, 0x13, 0x0F, 0x01, 0x01],
        'r' => [0x00, 0x00, 0x16, 0x19, 0x10, 0x10, 0x10],
        's' => [0x00, 0x00, 0x0E, 0x10, 0x0E, 0x01, 0x1E],
        't' => [0x08, 0x08, 0x1C, 0x08, 0x08, 0x09, 0x06],
        'u' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x13, 0x0D],
        'v' => [0x00, 0x00, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'w' => [0x00, 0x00, 0x11, 0x11, 0x15, 0x15, 0x0A],
        'x' => [0x00, 0x00, 0x11, 0x0A, 0x04, 0x0A, 0x11],
        'y' => [0x00, 0x00, 0x11, 0x11, 0x0F, 0x01, 0x0E],
        'z' => [0x00, 0x00, 0x1F, 0x02, 0x04, 0x08, 0x1F],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        _ => [0; 7],
    }
}

/// Draws `text` in `colour`, centred in columns `x0..x0 + width` of `img` and vertically, as
/// large as fits (up to 6 image pixels per font pixel). The font has lower-case letters (upper
/// case is drawn as lower case), digits and `:.-`; other characters are blank.
///
/// ```
/// use cam_stitch::{draw_label, RgbImage, LABEL_RGB};
/// let mut tile = RgbImage::new(200, 60);
/// draw_label(&mut tile, 0, 200, "camera 1 offline", LABEL_RGB);
/// let lit = tile.as_bytes().chunks(3).filter(|p| *p == LABEL_RGB).count();
/// assert!(lit > 100);
/// ```
pub fn draw_label(img: &mut RgbImage, x0: u32, width: u32, text: &str, colour: [u8; 3]) {
    let (w, h) = img.size();
    let chars: Vec<char> = text.chars().map(|c| c.to_ascii_lowercase()).collect();
    if chars.is_empty() || x0 >= w {
        return;
    }
    let width = width.min(w - x0);
    let cell_w = (6 * chars.len()).min(u32::MAX as usize) as u32; // 5 columns + 1 space per glyph
    let scale = (width.saturating_mul(9) / 10 / cell_w)
        .clamp(1, 6)
        .min((h / 9).max(1));
    let text_w = cell_w.saturating_mul(scale);
    let left = x0 + width.saturating_sub(text_w) / 2;
    let top = h.saturating_sub(7 * scale) / 2;
    let stride = w as usize * 3;
    let bytes = img.as_mut_bytes();
    for (i, &c) in chars.iter().enumerate() {
        let g = glyph(c);
        for (row, bits) in g.iter().enumerate() {
            for col in 0..5u32 {
                if bits & (0x10 >> col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    let y = top + row as u32 * scale + dy;
                    if y >= h {
                        continue;
                    }
                    for dx in 0..scale {
                        let x = u64::from(left)
                            + (i as u64 * 6 + u64::from(col)) * u64::from(scale)
                            + u64::from(dx);
                        if x >= u64::from(x0 + width) || x >= u64::from(w) {
                            continue;
                        }
                        let o = y as usize * stride + x as usize * 3;
                        if let Some(px) = bytes.get_mut(o..o + 3) {
                            px.copy_from_slice(&colour);
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_inside_the_columns_only() {
        let mut img = RgbImage::new(300, 50);
        draw_label(&mut img, 100, 100, "camera 1 offline", LABEL_RGB);
        for y in 0..50 {
            for x in 0..300 {
                let lit = img.pixel(x, y) == Some(LABEL_RGB);
                assert!(!lit || (100..200).contains(&x), "({x}, {y}) lit");
            }
        }
        let lit = img.as_bytes().chunks(3).filter(|p| *p == LABEL_RGB).count();
        assert!(lit > 50, "{lit}");
        // Out of range or empty: nothing drawn, no panic.
        draw_label(&mut img, 400, 100, "x", LABEL_RGB);
        draw_label(&mut img, 0, 0, "x", LABEL_RGB);
        draw_label(&mut img, 0, 300, "", LABEL_RGB);
        let mut tiny = RgbImage::new(1, 1);
        draw_label(&mut tiny, 0, 1, "camera 0 connecting", LABEL_RGB);
    }
}
