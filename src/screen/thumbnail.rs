//! Proof-of-display thumbnails: the frame a screen shows, scaled down to a small PNG that
//! the node publishes retained on `…/thumbnails/{node}` for the manager's console.

use super::offscreen::encode_png;
use anyhow::Result;

/// Scales an RGBA frame down to `target_width` (box filter) and encodes it as PNG.
pub fn thumbnail_png(width: u32, height: u32, rgba: &[u8], target_width: u32) -> Result<Vec<u8>> {
    let target_width = target_width.clamp(1, width.max(1));
    let target_height =
        ((u64::from(height) * u64::from(target_width)) / u64::from(width.max(1))).max(1) as u32;
    let mut rgb = Vec::with_capacity((target_width * target_height * 3) as usize);
    for ty in 0..target_height {
        let y0 = ty * height / target_height;
        let y1 = ((ty + 1) * height / target_height).max(y0 + 1);
        for tx in 0..target_width {
            let x0 = tx * width / target_width;
            let x1 = ((tx + 1) * width / target_width).max(x0 + 1);
            let mut sum = [0u64; 3];
            let mut count = 0u64;
            for y in y0..y1.min(height) {
                for x in x0..x1.min(width) {
                    let index = ((y * width + x) * 4) as usize;
                    for (channel, total) in sum.iter_mut().enumerate() {
                        *total += u64::from(rgba.get(index + channel).copied().unwrap_or(0));
                    }
                    count += 1;
                }
            }
            rgb.extend(sum.iter().map(|total| (total / count.max(1)) as u8));
        }
    }
    encode_png(target_width, target_height, rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_to_the_target_width_keeping_the_aspect() {
        let (width, height) = (1920u32, 1080u32);
        let rgba: Vec<u8> = (0..width * height)
            .flat_map(|_| [255, 179, 0, 255])
            .collect();
        let png = thumbnail_png(width, height, &rgba, 320).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (320, 180));
    }
}
