-- A community post may be a virtual station (潭政办发〔2023〕20号 二（二）6: 为老服务站或虚拟服务站):
-- services arranged without premises of its own, so no floor area is asked of it.
ALTER TABLE facilities ADD COLUMN virtual_station BOOLEAN NOT NULL DEFAULT false;
