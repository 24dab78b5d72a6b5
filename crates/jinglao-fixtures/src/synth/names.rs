//! Chinese names for synthetic people: surnames weighted by their frequency in Hunan, given
//! names in the style of people born between 1920 and 1966.

use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::pick_weighted;
use jinglao_domain::id_number::Sex;

/// Surnames with relative weights (per mille, Hunan, approximately; see docs/DEMO-DATA.md).
const SURNAMES: [(&str, u32); 48] = [
    ("刘", 80),
    ("李", 70),
    ("陈", 62),
    ("王", 55),
    ("张", 50),
    ("周", 42),
    ("彭", 35),
    ("谭", 34),
    ("罗", 33),
    ("胡", 32),
    ("黄", 31),
    ("唐", 30),
    ("易", 25),
    ("曾", 24),
    ("杨", 24),
    ("邓", 22),
    ("肖", 20),
    ("龙", 15),
    ("毛", 15),
    ("文", 14),
    ("郭", 14),
    ("赵", 13),
    ("吴", 13),
    ("何", 13),
    ("许", 11),
    ("袁", 11),
    ("贺", 11),
    ("朱", 10),
    ("钟", 10),
    ("蒋", 10),
    ("石", 9),
    ("欧阳", 9),
    ("向", 9),
    ("廖", 9),
    ("夏", 8),
    ("丁", 8),
    ("邹", 8),
    ("颜", 8),
    ("戴", 7),
    ("熊", 7),
    ("宋", 7),
    ("马", 7),
    ("蔡", 6),
    ("姜", 6),
    ("汤", 6),
    ("左", 5),
    ("尹", 5),
    ("田", 5),
];

/// Whole given names common in that generation.
const MALE_GIVEN: [&str; 40] = [
    "建国", "国华", "德明", "志强", "建华", "国庆", "卫国", "德胜", "福生", "春生", "桂生", "炳生",
    "国平", "长生", "正清", "光明", "新民", "文华", "保林", "金山", "汉清", "学文", "树林", "振华",
    "爱国", "跃进", "解放", "胜利", "家和", "大贵", "水生", "冬生", "满秋", "立新", "援朝", "国强",
    "铁山", "贵生", "松林", "运来",
];
const FEMALE_GIVEN: [&str; 40] = [
    "秀英", "桂英", "玉兰", "淑珍", "凤英", "秀兰", "桂兰", "玉珍", "冬梅", "春花", "美华", "素珍",
    "金秀", "翠兰", "菊香", "月娥", "爱莲", "梅英", "秀珍", "玉梅", "淑华", "桂花", "凤兰", "春兰",
    "秋菊", "德秀", "满英", "细妹", "银秀", "巧云", "冬英", "雪梅", "玉华", "红英", "腊梅", "兰芳",
    "惠兰", "碧云", "桂珍", "小英",
];

/// Characters that combine into other given names.
const MALE_CHARS: [char; 36] = [
    '建', '国', '华', '明', '德', '福', '贵', '生', '春', '林', '光', '志', '文', '武', '清', '平',
    '保', '炳', '金', '云', '汉', '海', '长', '庆', '新', '学', '成', '友', '正', '松', '荣', '发',
    '和', '军', '伟', '根',
];
const FEMALE_CHARS: [char; 32] = [
    '秀', '英', '兰', '珍', '桂', '芳', '玉', '梅', '凤', '华', '淑', '翠', '莲', '菊', '香', '春',
    '娥', '美', '琴', '云', '红', '霞', '素', '爱', '月', '秋', '冬', '银', '巧', '惠', '碧', '群',
];

/// A surname.
pub fn surname(rng: &mut ChaCha8Rng) -> &'static str {
    SURNAMES[pick_weighted(rng, &SURNAMES.map(|(_, w)| w))].0
}

/// A given name for someone of `sex`.
pub fn given_name(rng: &mut ChaCha8Rng, sex: Sex) -> String {
    let (whole, chars): (&[&str], &[char]) = match sex {
        Sex::Male => (&MALE_GIVEN, &MALE_CHARS),
        Sex::Female => (&FEMALE_GIVEN, &FEMALE_CHARS),
    };
    let roll = rng.random_range(0..100);
    if roll < 55 {
        whole[rng.random_range(0..whole.len())].to_string()
    } else if roll < 85 {
        // Two different characters: the second is drawn from the others.
        let i = rng.random_range(0..chars.len());
        let j = (i + rng.random_range(1..chars.len())) % chars.len();
        format!("{}{}", chars[i], chars[j])
    } else {
        chars[rng.random_range(0..chars.len())].to_string()
    }
}

/// A full name.
pub fn full_name(rng: &mut ChaCha8Rng, sex: Sex) -> String {
    let s = surname(rng);
    format!("{s}{}", given_name(rng, sex))
}

/// A child's name: sons usually carry the family surname; daughters and in-laws another.
pub fn child_name(rng: &mut ChaCha8Rng, family_surname: &str, son: bool) -> String {
    let s = if son { family_surname } else { surname(rng) };
    let sex = if son { Sex::Male } else { Sex::Female };
    // The children's generation (born 1950s–1990s) favoured different names; two common
    // characters suffice for a contact.
    const YOUNG_MALE: [&str; 16] = [
        "军", "伟", "勇", "斌", "涛", "强", "刚", "辉", "波", "杰", "鹏", "峰", "毅", "俊", "磊",
        "亮",
    ];
    const YOUNG_FEMALE: [&str; 16] = [
        "丽", "芳", "静", "敏", "燕", "娟", "霞", "艳", "玲", "红", "萍", "琼", "英", "慧", "莉",
        "婷",
    ];
    let pool = match sex {
        Sex::Male => &YOUNG_MALE,
        Sex::Female => &YOUNG_FEMALE,
    };
    let a = pool[rng.random_range(0..pool.len())];
    if rng.random_bool(0.6) {
        let b = pool[rng.random_range(0..pool.len())];
        format!("{s}{a}{b}")
    } else {
        format!("{s}{a}")
    }
}

/// The surname part of a full name (compound surnames included).
pub fn surname_of(name: &str) -> &str {
    if let Some((s, _)) = SURNAMES
        .iter()
        .find(|(s, _)| s.chars().count() == 2 && name.starts_with(*s))
    {
        return s;
    }
    let end = name
        .char_indices()
        .nth(1)
        .map(|(i, _)| i)
        .unwrap_or(name.len());
    &name[..end]
}
