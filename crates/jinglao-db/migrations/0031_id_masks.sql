-- Masked ID numbers keep the city prefix and the check character only (4303*************4).
-- The old mask kept digits 1-4 and 15-18 while lists showed the exact birth date and the
-- household county, so the full number followed: digits 5-6 from the county, 7-14 from the
-- birth date, and the check character left one candidate. The new mask is derived from the
-- old one, so no number needs decrypting. Audit entries written before keep the old form:
-- the trail is append-only and only auditors read it.
UPDATE elders SET id_masked = substr(id_masked, 1, 4) || '*************' || substr(id_masked, 18, 1)
WHERE length(id_masked) = 18;
UPDATE staff SET id_masked = substr(id_masked, 1, 4) || '*************' || substr(id_masked, 18, 1)
WHERE length(id_masked) = 18;
